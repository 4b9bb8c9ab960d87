//! PostgreSQL: a connection pool. Queries are written once with `?` placeholders and
//! numbered here for PostgreSQL.

use super::{Limits, Row, Value};
use crate::StoreError;
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::error::Error as StdError;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

pub struct Pg {
    pool: Pool,
    /// `host:port/database as user` (never the password), for errors that must say where.
    target: String,
}

impl Pg {
    /// deadpool's account of the pool.
    pub fn pool(&self) -> super::PoolStats {
        let s = self.pool.status();
        super::PoolStats { open: s.size, idle: s.available, max: s.max_size, waiting: s.waiting }
    }

    pub fn connect(url: &str, max_size: usize, limits: Limits) -> Result<Self, StoreError> {
        let (url, tls) = Tls::of(url)?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Other(format!("bad database url: {e}")))?;
        if !tls.asked {
            // Plain connections unless the URL asks for TLS (libpq would try TLS first and
            // fall back; a server's self-signed certificate would then fail every connection).
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        // Every statement and every lock wait has a deadline on the server, so a held table
        // lock or a slow query frees its connection instead of draining the pool.
        let ms = limits.statement.as_millis();
        let mut options = config.get_options().map(str::to_string).unwrap_or_default();
        options.push_str(&format!(" -c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={}", ms * 4));
        config.options(options.trim());
        config.connect_timeout(limits.connect);
        let target = describe(&config);
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if tls.asked {
            Manager::from_config(config, tls.connector()?, recycling)
        } else {
            Manager::from_config(config, tokio_postgres::NoTls, recycling)
        };
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(limits.pool_wait))
            .create_timeout(Some(limits.connect))
            .recycle_timeout(Some(limits.connect))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(Pg { pool, target })
    }

    /// `host:port/database as user`.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub async fn get(&self) -> Result<Object, StoreError> {
        // Whatever the pool says (a wait past its limit, a server that refuses or is gone),
        // the request can only be tried again later.
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("connecting to PostgreSQL at {}: {}", self.target, cohort_core::error::chain(&e))))
    }
}

/// TLS to PostgreSQL, as the URL's libpq-style parameters ask: `sslmode=require` (or
/// `verify-full`) encrypts and checks the server's certificate against the system's roots and
/// `sslrootcert` (a PEM file) and its name against the host; `verify-ca` checks the
/// certificate but not the name; `prefer` encrypts when the server offers it (checked the
/// same way); none, or `disable`, connects in the clear. Stricter than libpq's `require`,
/// which encrypts without checking who answers.
struct Tls {
    asked: bool,
    check_name: bool,
    root: Option<std::path::PathBuf>,
}

impl Tls {
    /// The URL without the parameters tokio-postgres does not read, and what they asked.
    fn of(url: &str) -> Result<(String, Tls), StoreError> {
        let mut tls = Tls { asked: false, check_name: true, root: None };
        let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), tls)) };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => tls.root = Some(path.into()),
                Some(("sslmode", mode)) => {
                    let mode = match mode {
                        "disable" => "disable",
                        "prefer" | "allow" => "prefer",
                        "require" | "verify-full" => "require",
                        "verify-ca" => {
                            tls.check_name = false;
                            "require"
                        }
                        other => {
                            return Err(StoreError::Other(format!(
                                "bad database url: sslmode {other:?} is not disable, prefer, require, verify-ca or verify-full"
                            )));
                        }
                    };
                    tls.asked = mode != "disable";
                    kept.push(format!("sslmode={mode}"));
                }
                _ => kept.push(pair.to_string()),
            }
        }
        let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        Ok((url, tls))
    }

    fn connector(&self) -> Result<postgres_native_tls::MakeTlsConnector, StoreError> {
        let mut builder = native_tls::TlsConnector::builder();
        if let Some(path) = &self.root {
            let pem = std::fs::read(path).map_err(|e| StoreError::Other(format!("reading sslrootcert {}: {e}", path.display())))?;
            let cert = native_tls::Certificate::from_pem(&pem)
                .map_err(|e| StoreError::Other(format!("sslrootcert {}: no PEM certificate: {e}", path.display())))?;
            builder.add_root_certificate(cert);
        }
        builder.danger_accept_invalid_hostnames(!self.check_name);
        let connector = builder.build().map_err(|e| StoreError::Other(format!("setting up TLS: {e}")))?;
        Ok(postgres_native_tls::MakeTlsConnector::new(connector))
    }
}

/// Where a configuration points: hosts and ports, database and user; never the password.
fn describe(c: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let ports = c.get_ports();
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    format!("{}/{} as {}", hosts.join(","), c.get_dbname().unwrap_or("(default database)"), c.get_user().unwrap_or("(default user)"))
}

/// `?` → `$1, $2, …`, leaving quoted text alone.
pub fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut in_quote = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                out.push(c);
            }
            '?' if !in_quote => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => f.to_string().to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into())),
            Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
            Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into())),
            _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

fn as_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

pub async fn query(client: &Object, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let stmt = client.prepare_cached(&number_placeholders(sql)).await?;
    let rows = client.query(&stmt, &as_params(params)).await?;
    rows.iter().map(read_row).collect()
}

/// Hands each row to `each` as it arrives from the server, never holding the whole result
/// (the connection reads ahead only a little); answers how many there were.
pub async fn for_each(
    client: &Object,
    sql: &str,
    params: &[Value],
    each: &mut dyn FnMut(Row) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    use futures_util::TryStreamExt;
    let stmt = client.prepare_cached(&number_placeholders(sql)).await?;
    let rows = client.query_raw(&stmt, params.iter()).await?;
    let mut rows = std::pin::pin!(rows);
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        each(read_row(&row)?)?;
        count += 1;
    }
    Ok(count)
}

pub async fn execute(client: &Object, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let stmt = client.prepare_cached(&number_placeholders(sql)).await?;
    Ok(client.execute(&stmt, &as_params(params)).await?)
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
                return StoreError::Unique(format!("{} {}", db.constraint().unwrap_or_default(), db.message()));
            }
            if *code == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                || *code == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
            {
                return StoreError::Busy(db.message().to_string());
            }
            // Timeouts (57014 statement, 55P03 lock), a server shutting down or starting
            // (57P0x), too many connections (53300) and broken connections (08xxx).
            let c = code.code();
            if matches!(c, "57014" | "55P03" | "53300") || c.starts_with("57P") || c.starts_with("08") {
                return StoreError::Unavailable(format!("{c}: {}", db.message()));
            }
            return StoreError::Other(format!("{}: {}", db.code().code(), db.message()));
        }
        if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
            return StoreError::Unavailable(e.to_string());
        }
        StoreError::Other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::number_placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(number_placeholders("SELECT ? WHERE a = '?' AND b = ?"), "SELECT $1 WHERE a = '?' AND b = $2");
    }
}
