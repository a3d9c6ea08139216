//! Attribute macros of agent-trace. Use them through the `agent-trace` crate, which
//! re-exports them; this crate is an implementation detail.
//!
//! The macros themselves are not written yet: this crate is a placeholder in the
//! workspace so that the facade's layout is final.

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)
)]
