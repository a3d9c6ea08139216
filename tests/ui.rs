//! Compile-time behaviour of the attribute macros: what compiles, and the error — one, at
//! the offending token — for what does not. The `.stderr` files hold the exact messages, as
//! this toolchain prints them under the README's test command (`--all-features`: rustc
//! shortens a type's path only when the short name is unambiguous among the linked crates).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
