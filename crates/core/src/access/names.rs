//! Ids interned to dense integers, so the index stores and compares `u32`s and keeps each
//! id's text once. A forgotten id's number is reused.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    table: HashTable<u32>,
    names: Vec<Box<str>>,
    free: Vec<u32>,
    hasher: DefaultHashBuilder,
}

impl Names {
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&i| &*self.names[i as usize] == name).copied()
    }

    /// The number for `name`, and whether it is new.
    pub fn intern(&mut self, name: &str) -> (u32, bool) {
        if let Some(i) = self.get(name) {
            return (i, false);
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.names[i as usize] = name.into();
                i
            }
            None => {
                self.names.push(name.into());
                (self.names.len() - 1) as u32
            }
        };
        let Names { table, names, hasher, .. } = self;
        table.insert_unique(hasher.hash_one(name), i, |&j| hasher.hash_one(&*names[j as usize]));
        (i, true)
    }

    /// Forgets `i`; its number may be handed out again.
    pub fn forget(&mut self, i: u32) {
        let hash = self.hasher.hash_one(&*self.names[i as usize]);
        if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
            entry.remove();
            self.names[i as usize] = "".into();
            self.free.push(i);
        }
    }

    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    pub fn bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.names.capacity() * std::mem::size_of::<Box<str>>()
            + self.names.iter().map(|n| n.len().next_multiple_of(8)).sum::<usize>()
            + self.free.capacity() * 4
    }
}
