//! Compile-time behaviour of the attribute macros: what compiles, and the error — one, at
//! the offending token — for what does not. The `.stderr` files hold the exact messages as
//! this toolchain prints them. (Types in rustc's notes are printed by their shortest
//! unambiguous path, which can change with the crates linked: the cases avoid such types.)

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
