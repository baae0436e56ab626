//! ecs-inbound-guard: catches ECS tasks in `awsvpc` mode that look public but have no inbound
//! path, and says why and how to fix it.
//!
//! The data's way through the crate: a trigger ([`domain::event`]) → facts read in waves
//! through the [`ports`] ([`facts`]) → rules → an Evaluation ([`domain`]) → renderers
//! ([`render`]) → delivery ([`app`], [`adapters`]). `docs/ARCHITECTURE.md` is the map.

// The SDK's deeply nested async futures (joined reads of several clients) exceed the default
// type-recursion limit when the compiler computes their layout.
#![recursion_limit = "256"]
// One idea per function: none outside tests is longer than 80 lines (`clippy.toml`).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod adapters;
pub mod app;
pub mod domain;
pub mod facts;
pub mod ports;
pub mod render;
