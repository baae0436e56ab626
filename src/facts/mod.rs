//! How facts are read: [`waves`] reads one task's facts in named waves of concurrent reads
//! through the reader ports; [`cache`] is the warm cache, a decorator over the readers.

pub mod cache;
pub mod deadline;
pub mod limit;
pub mod stopped;
pub mod waves;

#[cfg(test)]
pub mod fake;
