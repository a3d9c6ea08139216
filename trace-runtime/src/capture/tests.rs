//! The captured text decodes to exactly what the capture policy makes of a value — for
//! every shape `serde` can hand the serializer, under redaction, the size limit, a
//! redaction function and failing `Serialize` implementations.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};
use trace_core::{CapturePolicy, Map, capture};

use super::{ArgKey, CapturedText, Source};

/// The captured arguments' object.
fn decode_inputs(text: &[u8]) -> Map {
    if text.is_empty() {
        return Map::new();
    }
    serde_json::from_slice(text).expect("the arguments are a JSON object")
}

/// A captured value.
fn decode_value(text: &[u8]) -> Value {
    serde_json::from_slice(text).expect("a captured value is JSON")
}

/// An argument's key, named at run time.
fn key(name: &str) -> ArgKey<'_> {
    ArgKey { name, json: None }
}

/// What the policy makes of `value` captured under `name`: the reference.
fn expected<T: Serialize + ?Sized>(policy: &CapturePolicy, name: &str, value: &T) -> Value {
    policy.apply(name, capture::to_value(value))
}

/// What the captured text decodes to, as an argument and as the output.
fn captured<T: Serialize + ?Sized>(policy: &CapturePolicy, name: &str, value: &T) -> (Value, Value) {
    let mut text = CapturedText::new();
    text.input(policy, key(name), Source::Serialize(value));
    text.output(policy, Source::Serialize(value));
    let (bytes, inputs, output) = text.finish();
    let inputs = decode_inputs(&bytes[inputs.start..inputs.end]);
    let output = output.map(|span| decode_value(&bytes[span.start..span.end]));
    (
        inputs.get(name).cloned().unwrap_or(Value::Null),
        output.unwrap_or(Value::Null),
    )
}

fn assert_captured_as_the_policy_would<T: Serialize + ?Sized + fmt::Debug>(policy: &CapturePolicy, value: &T) {
    let (input, _) = captured(policy, "value", value);
    assert_eq!(input, expected(policy, "value", value), "argument {value:?}");
    let (_, output) = captured(policy, "value", value);
    assert_eq!(output, expected(policy, "output", value), "output {value:?}");
}

#[derive(Debug, Serialize)]
struct Point {
    x: i32,
    y: f64,
    label: Option<String>,
}

#[derive(Debug, Serialize)]
struct Unit;

#[derive(Debug, Serialize)]
struct Newtype(u8);

#[derive(Debug, Serialize)]
struct Pair(i8, char);

#[derive(Debug, Serialize)]
enum Shape {
    Empty,
    Circle(f32),
    Segment(Point, Point),
    Box { width: u16, height: u16 },
}

#[derive(Debug, Serialize)]
struct Credentials {
    user: String,
    #[serde(rename = "API_KEY")]
    api_key: String,
    nested: Vec<BTreeMap<String, String>>,
    #[serde(flatten)]
    extra: BTreeMap<String, u8>,
}

#[derive(Debug, Serialize)]
#[allow(dead_code)] // the fields are only serialized
enum Secretive {
    Token(String),
    Password { old: String, new: String },
    Secret(u8, u8),
}

#[test]
fn every_shape_serde_can_hand_over_is_captured_as_the_policy_would() {
    let policy = CapturePolicy::default();
    for number in [
        0u64,
        7,
        9,
        10,
        42,
        99,
        100,
        101,
        999,
        1000,
        123_456_789,
        10_000_000_000_000_000_000,
    ] {
        assert_captured_as_the_policy_would(&policy, &number);
    }
    assert_captured_as_the_policy_would(&policy, &7u64);
    assert_captured_as_the_policy_would(&policy, &-7i64);
    assert_captured_as_the_policy_would(&policy, &i64::MIN);
    assert_captured_as_the_policy_would(&policy, &u64::MAX);
    assert_captured_as_the_policy_would(&policy, &0u8);
    assert_captured_as_the_policy_would(&policy, &1.5f64);
    assert_captured_as_the_policy_would(&policy, &0.1f32);
    assert_eq!(captured(&policy, "v", &0.1f32).0, json!(0.1));
    assert_captured_as_the_policy_would(&policy, &-0.0f64);
    assert_captured_as_the_policy_would(&policy, &1e300f64);
    assert_captured_as_the_policy_would(&policy, &f64::NAN);
    assert_captured_as_the_policy_would(&policy, &f64::INFINITY);
    assert_captured_as_the_policy_would(&policy, &true);
    assert_captured_as_the_policy_would(&policy, &'é');
    assert_captured_as_the_policy_would(&policy, "plain");
    assert_captured_as_the_policy_would(
        &policy,
        "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} é ✓",
    );
    assert_captured_as_the_policy_would(&policy, "exactly sixteen!");
    assert_captured_as_the_policy_would(&policy, "seventeen bytes \"");
    assert_captured_as_the_policy_would(
        &policy,
        &"a long string of more than sixteen bytes, with \u{1} inside".to_owned(),
    );
    assert_captured_as_the_policy_would(&policy, &());
    assert_captured_as_the_policy_would(&policy, &None::<u8>);
    assert_captured_as_the_policy_would(&policy, &Some(3));
    assert_captured_as_the_policy_would(&policy, &Unit);
    assert_captured_as_the_policy_would(&policy, &Newtype(9));
    assert_captured_as_the_policy_would(&policy, &Pair(-1, 'x'));
    assert_captured_as_the_policy_would(&policy, &(1, "two", [3.5]));
    assert_captured_as_the_policy_would(&policy, &vec![vec![1, 2], vec![]]);
    assert_captured_as_the_policy_would(&policy, &serde_bytes_like());
    assert_captured_as_the_policy_would(&policy, &Shape::Empty);
    assert_captured_as_the_policy_would(&policy, &Shape::Circle(2.0));
    let p = || Point {
        x: 1,
        y: 2.5,
        label: Some("a \"b\"".into()),
    };
    assert_captured_as_the_policy_would(&policy, &Shape::Segment(p(), p()));
    assert_captured_as_the_policy_would(&policy, &Shape::Box { width: 3, height: 4 });
    let map: HashMap<u32, &str> = [(1, "one"), (20, "twenty")].into();
    assert_captured_as_the_policy_would(&policy, &map);
    let keyed_by_char: BTreeMap<char, bool> = [('a', true)].into();
    assert_captured_as_the_policy_would(&policy, &keyed_by_char);
    assert_captured_as_the_policy_would(
        &policy,
        &json!({"deep": [{"x": null}, {"y": {"z": [1, 2.25, "w"]}}], "": 0}),
    );
}

/// A byte string as `serde` sees `&[u8]` when told it is bytes.
fn serde_bytes_like() -> impl Serialize + fmt::Debug {
    #[derive(Debug)]
    struct Bytes(&'static [u8]);
    impl Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }
    Bytes(b"\x00\xffab")
}

#[test]
fn keys_to_redact_are_redacted_at_any_depth_and_in_every_position() {
    let policy = CapturePolicy::default();
    let credentials = Credentials {
        user: "ada".into(),
        api_key: "k-123".into(),
        nested: vec![[("Password".to_owned(), "hunter2".to_owned())].into()],
        extra: [("token".to_owned(), 7)].into(),
    };
    assert_captured_as_the_policy_would(&policy, &credentials);
    let (input, _) = captured(&policy, "credentials", &credentials);
    assert_eq!(input["API_KEY"], "[REDACTED]");
    assert_eq!(input["nested"][0]["Password"], "[REDACTED]");
    assert_eq!(input["token"], "[REDACTED]");
    assert_eq!(input["user"], "ada");
    for secret in [
        Secretive::Token("t".into()),
        Secretive::Password {
            old: "a".into(),
            new: "b".into(),
        },
        Secretive::Secret(1, 2),
    ] {
        assert_captured_as_the_policy_would(&policy, &secret);
    }
    // An argument named like a secret.
    let (input, _) = captured(&policy, "Authorization", &"Bearer x");
    assert_eq!(input, json!("[REDACTED]"));
    let custom = CapturePolicy::default().redact_key("Email");
    assert_captured_as_the_policy_would(&custom, &json!({"to": {"EMAIL": "a@b.c"}}));
    let none = CapturePolicy::default().redacted_keys(Vec::<String>::new());
    assert_captured_as_the_policy_would(&none, &credentials);
}

#[test]
fn values_over_the_limit_are_cut_as_the_policy_cuts_them() {
    let policy = CapturePolicy::default().max_value_bytes(24);
    assert_captured_as_the_policy_would(&policy, &"a rather long sentence, really");
    assert_captured_as_the_policy_would(&policy, &(0..100).collect::<Vec<_>>());
    // Redaction first: the cut head holds no secret.
    assert_captured_as_the_policy_would(&policy, &json!({"password": "x".repeat(10), "z": "y".repeat(40)}));
    // Exactly at the limit: kept.
    let at_limit = "x".repeat(22);
    assert_eq!(captured(&policy, "v", &at_limit).0, json!(at_limit));
}

#[test]
fn a_redaction_function_sees_every_value() {
    let policy = CapturePolicy::default().redact_with(|name, value| {
        if let Value::String(text) = value {
            *value = Value::String(format!("{name}:{}", text.len()));
        }
    });
    assert_captured_as_the_policy_would(&policy, &"seven!!");
    assert_eq!(captured(&policy, "v", "abc").0, json!("v:3"));
}

#[test]
fn a_failing_or_panicking_serialize_becomes_the_unserializable_marker() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }
    struct Panics;
    impl Serialize for Panics {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            panic!("boom")
        }
    }
    let policy = CapturePolicy::default();
    assert_eq!(captured(&policy, "v", &Fails).0, expected(&policy, "v", &Fails));
    assert_eq!(captured(&policy, "v", &Fails).0["$unserializable"], "no way");
    let (input, _) = captured(&policy, "v", &Panics);
    assert!(
        input["$unserializable"]
            .as_str()
            .is_some_and(|reason| reason.contains("boom")),
        "{input}"
    );
    // A map whose keys are not strings.
    let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
    assert_eq!(captured(&policy, "v", &bad).0, expected(&policy, "v", &bad));
}

#[test]
fn arguments_after_the_output_are_ignored_and_filters_replace_them() {
    let policy = CapturePolicy::default();
    let mut text = CapturedText::new();
    text.input(&policy, key("a"), Source::Serialize(&1));
    text.input(&policy, key("b"), Source::<()>::Debug(&Some("dbg")));
    text.input(&policy, key("c"), Source::<()>::Opaque("my::Type"));
    text.input(&policy, key("token"), Source::<()>::Value(&json!("s3cr3t")));
    text.output(&policy, Source::Serialize(&2));
    text.input(&policy, key("late"), Source::Serialize(&3));
    let (bytes, span, output) = text.finish();
    let mut inputs: Map = decode_inputs(&bytes[span.start..span.end]);
    let output = output.map(|span| decode_value(&bytes[span.start..span.end]));
    assert_eq!(
        Value::Object(inputs.clone()),
        json!({"a": 1, "b": "Some(\"dbg\")", "c": "<my::Type>", "token": "[REDACTED]"})
    );
    inputs.remove("a");
    text.replace(&inputs, output.as_ref());
    let (bytes, span, output) = text.finish();
    assert_eq!(
        Value::Object(decode_inputs(&bytes[span.start..span.end])),
        json!({"b": "Some(\"dbg\")", "c": "<my::Type>", "token": "[REDACTED]"})
    );
    let output = output.map(|span| decode_value(&bytes[span.start..span.end]));
    assert_eq!(output, Some(json!(2)));
}

/// What the captured text of a plain value decodes to, as an argument and as the output.
fn captured_plain<T: super::PlainValue + ?Sized>(policy: &CapturePolicy, name: &str, value: &T) -> (Value, Value) {
    let mut text = CapturedText::new();
    let json = serde_json::to_string(name).expect("a key") + ":";
    let key = ArgKey {
        name,
        json: Some(&json),
    };
    text.input(policy, key, Source::<()>::Plain(value.plain()));
    text.output(policy, Source::<()>::Plain(value.plain()));
    let (bytes, inputs, output) = text.finish();
    let inputs = decode_inputs(&bytes[inputs.start..inputs.end]);
    let output = output.map(|span| decode_value(&bytes[span.start..span.end]));
    (
        inputs.get(name).cloned().unwrap_or(Value::Null),
        output.unwrap_or(Value::Null),
    )
}

fn assert_plain_as_the_policy_would<T: super::PlainValue + Serialize + ?Sized + fmt::Debug>(
    policy: &CapturePolicy,
    name: &str,
    value: &T,
) {
    let (input, output) = captured_plain(policy, name, value);
    assert_eq!(input, expected(policy, name, value), "argument {name} = {value:?}");
    assert_eq!(output, expected(policy, "output", value), "output {value:?}");
}

#[test]
fn plain_values_written_directly_are_what_the_policy_makes_of_them() {
    let policies = [
        CapturePolicy::default(),
        CapturePolicy::default().max_value_bytes(4),
        CapturePolicy::default().redact_with(|_, value| {
            if value.is_string() {
                *value = json!("seen");
            }
        }),
    ];
    for policy in &policies {
        for name in ["n", "token", "x\"y"] {
            assert_plain_as_the_policy_would(policy, name, &0u8);
            assert_plain_as_the_policy_would(policy, name, &42u16);
            assert_plain_as_the_policy_would(policy, name, &u64::MAX);
            assert_plain_as_the_policy_would(policy, name, &i64::MIN);
            assert_plain_as_the_policy_would(policy, name, &-7i32);
            assert_plain_as_the_policy_would(policy, name, &usize::MAX);
            assert_plain_as_the_policy_would(policy, name, &-1isize);
            assert_plain_as_the_policy_would(policy, name, &true);
            assert_plain_as_the_policy_would(policy, name, &0.1f32);
            assert_plain_as_the_policy_would(policy, name, &2.5f64);
            assert_plain_as_the_policy_would(policy, name, &f64::NAN);
            assert_plain_as_the_policy_would(policy, name, &'\n');
            assert_plain_as_the_policy_would(policy, name, "ab");
            assert_plain_as_the_policy_would(policy, name, "quote \" and a longer text é");
            assert_plain_as_the_policy_would(policy, name, &String::from("owned"));
            assert_plain_as_the_policy_would(policy, name, &std::borrow::Cow::Borrowed("cow"));
            assert_plain_as_the_policy_would(policy, name, &Box::<str>::from("boxed"));
            assert_plain_as_the_policy_would(policy, name, &&&"refs");
            assert_plain_as_the_policy_would(policy, name, &Some(3u8));
            assert_plain_as_the_policy_would(policy, name, &None::<&str>);
        }
    }
}
