//! The README reads as written on GitHub and crates.io: its Rust examples (compiled as the
//! crate's documentation) hide no lines, and its links do not depend on where it is shown.

const README: &str = include_str!("../README.md");

#[test]
fn rust_examples_hide_no_lines() {
    let mut in_rust = false;
    for (number, line) in README.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            in_rust = !in_rust && (info == "rust" || info.starts_with("rust,"));
            continue;
        }
        assert!(
            !(in_rust && (line.starts_with("# ") || line == "#")),
            "README.md line {}: a line hidden by rustdoc shows on GitHub: {line}",
            number + 1
        );
    }
}

#[test]
fn links_are_absolute() {
    for (number, line) in README.lines().enumerate() {
        for (at, _) in line.match_indices("](") {
            let target = &line[at + 2..];
            assert!(
                target.starts_with("https://") || target.starts_with('#'),
                "README.md line {}: a relative link breaks on docs.rs: {line}",
                number + 1
            );
        }
    }
}
