//! Attribute macros of agent-trace. Use them through the `agent-trace` crate, which
//! re-exports them; this crate is an implementation detail.
//!
//! The macros themselves are not written yet: this crate is a placeholder in the
//! workspace so that the facade's layout is final.
