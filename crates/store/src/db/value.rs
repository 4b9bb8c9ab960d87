//! The values that cross the storage boundary, the same for both databases.

use crate::StoreError;

/// A bound parameter or a read column. Booleans are integers 0/1 on both databases and
/// instants are integer milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a parameter list: `params![id, name, now]`.
#[macro_export]
macro_rules! params {
    () => { [] as [$crate::Value; 0] };
    ($($v:expr),+ $(,)?) => { [$($crate::Value::from($v)),+] };
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub(crate) Vec<Value>);

/// Column types a row can be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            Value::Real(f) => Some(*f as i64),
            Value::Text(s) => s.parse().ok(),
            Value::Null => None,
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            Value::Text(s) => s.parse().ok(),
            Value::Null => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Real(f) => Some(f.to_string()),
            Value::Null => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl Row {
    /// Column `idx` as `T`; a missing column or a NULL where a value is needed is an error.
    pub fn get<T: FromValue>(&self, idx: usize) -> Result<T, StoreError> {
        let v = self.0.get(idx).ok_or_else(|| StoreError::Decode(format!("no column {idx}")))?;
        T::from_value(v).ok_or_else(|| StoreError::Decode(format!("column {idx}: unexpected {v:?}")))
    }

    /// Column `idx` as text, in place (NULL reads as `None`).
    pub fn text(&self, idx: usize) -> Result<Option<&str>, StoreError> {
        match self.0.get(idx) {
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(Value::Null) => Ok(None),
            v => Err(StoreError::Decode(format!("column {idx}: expected text, not {v:?}"))),
        }
    }

    /// Column `idx` as text, moved out of the row (NULL reads as `None`).
    pub fn take_text(&mut self, idx: usize) -> Result<Option<String>, StoreError> {
        match self.0.get_mut(idx).map(|v| std::mem::replace(v, Value::Null)) {
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(Value::Null) => Ok(None),
            v => Err(StoreError::Decode(format!("column {idx}: expected text, not {v:?}"))),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
