//! The computation graph: shapes, dependencies found inside containers, DOT, backward
//! propagation, optimizers, and parameters that carry over to the next session.

#[path = "../examples/optimize_prompt/task.rs"]
mod task;

use agent_trace::graph::{
    Feedback, InferenceGraph, LlmClient, LlmOptimizer, NodeId, NodeKind, OptimizeError, Optimizer, Updates,
};
use agent_trace::{
    Node, Outcome, SessionTracer, SqliteSink, TraceStore, TracerContext, bundle, node, node_named, parameter,
};
use serde_json::json;

fn in_session<R>(f: impl FnOnce() -> R) -> (R, InferenceGraph, agent_trace::SessionTrace) {
    let session = SessionTracer::default().start_session();
    let value = TracerContext::new(&session).sync_scope(f);
    let graph = session.graph();
    (value, graph, session.end().unwrap())
}

#[bundle]
fn add(a: Node<i64>, b: &Node<i64>) -> i64 {
    *a + **b
}

#[bundle]
fn double(a: &Node<i64>) -> i64 {
    **a * 2
}

#[bundle]
fn sum_all(items: &[Node<i64>]) -> i64 {
    items.iter().map(|item| **item).sum()
}

fn ids(nodes: &[&Node<i64>]) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = nodes.iter().map(|n| n.id()).collect();
    ids.sort();
    ids
}

#[test]
fn a_diamond_has_exact_order_ancestors_and_descendants() {
    let ((x, left, right, top), graph, _) = in_session(|| {
        let x = node_named("x", 1);
        let left = double(&x);
        let right = double(&x);
        let top = add(left.clone(), &right);
        (x, left, right, top)
    });
    assert_eq!(graph.topological_order(), ids(&[&x, &left, &right, &top]));
    assert_eq!(graph.ancestors(top.id()), ids(&[&x, &left, &right]));
    assert_eq!(graph.descendants(x.id()), ids(&[&left, &right, &top]));
    assert_eq!(graph.descendants(left.id()), vec![top.id()]);
    assert_eq!(graph.input_ids, vec![x.id()]);
    assert_eq!(graph.output_ids, vec![top.id()]);
    assert_eq!(*top, 4);
}

#[test]
fn chains_fan_outs_and_fan_ins_are_exact() {
    let ((start, chain, fans, joined), graph, _) = in_session(|| {
        let start = node(1);
        let a = double(&start);
        let b = double(&a);
        let c = double(&b);
        let fans: Vec<Node<i64>> = (0..3).map(|_| double(&c)).collect();
        let joined = sum_all(&fans);
        (start, vec![a, b, c], fans, joined)
    });
    assert_eq!(graph.ancestors(chain[2].id()), ids(&[&start, &chain[0], &chain[1]]));
    let fan_refs: Vec<&Node<i64>> = fans.iter().collect();
    assert_eq!(
        graph.descendants(chain[2].id()),
        ids(&[fan_refs[0], fan_refs[1], fan_refs[2], &joined])
    );
    assert_eq!(
        graph.node(joined.id()).unwrap().dependencies,
        fans.iter().map(Node::id).collect::<Vec<_>>()
    );
    let order = graph.topological_order();
    let position = |id: NodeId| order.iter().position(|o| *o == id).unwrap();
    assert!(
        fans.iter()
            .all(|f| position(f.id()) > position(chain[2].id()) && position(f.id()) < position(joined.id()))
    );
    assert_eq!(graph.output_ids, vec![joined.id()]);
    assert_eq!(*joined, 48);
}

#[bundle]
fn gather(maybe: Option<Node<i64>>, list: Vec<Node<i64>>, pair: (Node<i64>, u32), plain: u32) -> usize {
    maybe.iter().count() + list.len() + pair.1 as usize + plain as usize
}

#[test]
fn nodes_inside_options_vectors_slices_and_tuples_are_dependencies() {
    let ((inputs, result), graph, _) = in_session(|| {
        let (a, b, c, d) = (node(1), node(2), node(3), node(4));
        let inputs = vec![a.id(), b.id(), c.id(), d.id()];
        (inputs, gather(Some(a), vec![b, c], (d, 7), 9))
    });
    assert_eq!(*result, 19);
    assert_eq!(
        graph.node(result.id()).unwrap().dependencies,
        inputs,
        "in argument order"
    );
    assert_eq!(graph.nodes.len(), 5);
}

#[bundle]
fn checked_divide(a: Node<i64>, b: Node<i64>) -> Result<i64, String> {
    if *b == 0 {
        Err("division by zero".into())
    } else {
        Ok(*a / *b)
    }
}

#[bundle]
fn explode(a: &Node<i64>) -> i64 {
    panic!("bad input {}", **a)
}

#[test]
fn errors_and_panics_become_error_nodes_with_the_inputs() {
    let ((failed, ok), graph, trace) = in_session(|| {
        let failed = checked_divide(node(1), node(0));
        let ok = checked_divide(node(6), node(3));
        let x = node_named("x", 5);
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| explode(&x))).is_err());
        (failed, ok)
    });
    assert!(failed.is_err() && *ok == Ok(2));
    let error = graph.node(failed.id()).unwrap();
    assert_eq!(error.kind, NodeKind::Error);
    assert_eq!(error.error.as_ref().unwrap().message, "division by zero");
    assert_eq!(error.inputs["b"], json!(0));
    assert_eq!(graph.node(ok.id()).unwrap().kind, NodeKind::Operation);
    let panicked = graph.nodes.iter().find(|n| n.name == "explode").unwrap();
    assert_eq!(
        (panicked.kind, panicked.error.as_ref().unwrap().message.as_str()),
        (NodeKind::Error, "bad input 5")
    );
    assert_eq!(panicked.inputs["a"], json!(5));
    assert!(
        trace
            .events
            .iter()
            .any(|e| e.kind == agent_trace::EventKind::Bundle && e.outcome == Outcome::Panicked)
    );
}

#[test]
fn dot_output_has_every_node_and_edge_and_escapes_labels() {
    let ((x, y), graph, _) = in_session(|| {
        let x = node_named("quote", "she said \"hi\"\nand left\\".to_owned());
        let threshold = parameter("threshold", 0.5);
        let y = task::classify(
            x.clone(),
            &parameter("prompt_template", "Cues: hi".to_owned()),
            &threshold,
        );
        (x, y)
    });
    let dot = graph.to_dot();
    assert!(dot.starts_with("digraph inference {\n") && dot.ends_with("}\n"));
    for node in &graph.nodes {
        let line = dot
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} [", node.id)))
            .expect("a line per node");
        assert!(line.ends_with("];"));
        let label = line.split("label=\"").nth(1).unwrap();
        let mut escaped = false;
        let mut closed = false;
        for c in label.chars() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    closed = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(closed, "the label of {} is closed: {line}", node.id);
        for dep in &node.dependencies {
            assert!(
                dot.contains(&format!("  {dep} -> {};", node.id)),
                "edge {dep} -> {}",
                node.id
            );
        }
    }
    let x_line = dot
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{} [", x.id())))
        .unwrap();
    assert!(
        x_line.contains(r#"she said \"hi\"\nand left\\"#) && x_line.contains("shape=box"),
        "{x_line}"
    );
    assert!(dot.contains("shape=doubleoctagon") && dot.contains("fillcolor=\"gold\""));
    assert_eq!(graph.output_ids, vec![y.id()]);
}

#[test]
fn svg_output_lays_out_every_node_below_its_dependencies_and_escapes_text() {
    let (y, graph, _) = in_session(|| {
        let x = node_named("quote", "<script>x</script>&\"1\"".to_owned());
        let threshold = parameter("threshold", 0.5);
        task::classify(x, &parameter("prompt_template", "Cues: hi".to_owned()), &threshold)
    });
    let svg = graph.to_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>\n"));
    assert!(!svg.contains("<script"), "captured text is escaped: {svg}");
    assert!(
        svg.contains("&lt;script&gt;x&lt;/script&gt;&amp;&quot;1&quot;"),
        "{svg}"
    );
    let top_of = |id: NodeId| -> f64 {
        let group = svg
            .split(&format!("<g data-node=\"{}\">", id.0))
            .nth(1)
            .expect("a group per node");
        let y = group.split(" y=\"").nth(1).unwrap();
        y[..y.find('"').unwrap()].parse().unwrap()
    };
    for node in &graph.nodes {
        for dependency in &node.dependencies {
            assert!(
                top_of(*dependency) < top_of(node.id),
                "{dependency} is drawn above {}",
                node.id
            );
        }
    }
    let edges = svg.matches("class=\"edge\"").count();
    assert_eq!(edges, graph.nodes.iter().map(|n| n.dependencies.len()).sum::<usize>());
    assert!(
        svg.contains("★ trainable prompt_template") && svg.contains("★ trainable threshold"),
        "{svg}"
    );
    assert!(!svg.contains("★ trainable quote"), "an input is not marked");
    assert!(svg.contains(&format!("<g data-node=\"{}\">", y.id().0)));
}

#[test]
fn backward_reaches_exactly_the_trainable_ancestors() {
    let ((out, other), graph, _) = in_session(|| {
        let template = parameter("prompt_template", task::TEMPLATES[1].to_owned());
        let threshold = parameter("threshold", 0.5);
        let unused = parameter("temperature", 0.7);
        let out = task::classify(node("great".to_owned()), &template, &threshold);
        let other = double(&node(3));
        let _ = unused;
        (out, other)
    });
    let propagation = graph.backward(out.id(), "should be positive");
    let names: Vec<&str> = propagation.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["dag::task::classify::code", "prompt_template", "threshold"],
        "by name"
    );
    assert!(
        propagation
            .parameters
            .iter()
            .all(|p| p.feedback == "should be positive")
    );
    assert!(
        graph.backward(other.id(), "wrong").parameters.is_empty(),
        "no trainable ancestor, nothing propagated"
    );

    let problem = propagation.problem();
    for section in [
        "#Instruction",
        "#Code",
        "#Documentation",
        "#Variables",
        "#Constraints",
        "#Inputs",
        "#Others",
        "#Outputs",
        "#Feedback",
    ] {
        assert!(problem.contains(section), "{section} in {problem}");
    }
    assert!(
        problem.contains(&format!(
            "classify{} = classify(input, prompt_template, threshold, dag::task::classify::code)",
            out.id().0
        )),
        "{problem}"
    );
    assert!(problem.contains("(float) threshold=0.5"));
    assert!(problem.contains("[classify] Classifies a review"), "{problem}");
    assert!(
        !problem.contains("temperature"),
        "a parameter that did not contribute is not in the problem"
    );
}

#[test]
fn the_code_parameter_is_the_exact_source_and_one_per_function() {
    let (_, graph, _) = in_session(|| {
        let t = parameter("prompt_template", "Cues: a".to_owned());
        let th = parameter("threshold", 0.5);
        task::classify(node("a".to_owned()), &t, &th);
        task::classify(node("b".to_owned()), &t, &th);
    });
    let code: Vec<_> = graph
        .parameters
        .iter()
        .filter(|(name, _)| name.ends_with("::code"))
        .collect();
    assert_eq!(code.len(), 1, "one code parameter per function, shared by its calls");
    let text = code[0].1.value.as_str().unwrap();
    assert!(text.starts_with(
        "pub fn classify(review: Node<String>, template: &Node<String>, threshold: &Node<f64>) -> bool {"
    ));
    assert!(
        text.ends_with("scripted_score(template, &review) >= **threshold\n}"),
        "{text}"
    );
    assert!(code[0].1.trainable);
}

struct Counter {
    step: i64,
}

impl Counter {
    #[bundle(trainable)]
    fn advance(&self, from: &Node<i64>) -> i64 {
        **from + self.step
    }
}

#[test]
fn methods_share_one_code_parameter_across_instances_by_design() {
    let (_, graph, _) = in_session(|| {
        let start = node(0);
        Counter { step: 1 }.advance(&start);
        Counter { step: 5 }.advance(&start);
    });
    let code: Vec<_> = graph
        .parameters
        .keys()
        .filter(|name| name.ends_with("advance::code"))
        .collect();
    assert_eq!(code, vec!["dag::advance::code"]);
    let ops: Vec<_> = graph.nodes.iter().filter(|n| n.name == "advance").collect();
    let code_node = graph.parameters["dag::advance::code"].node;
    assert!(ops.len() == 2 && ops.iter().all(|op| op.dependencies.contains(&code_node)));
}

#[test]
fn outside_a_scope_nodes_are_plain_values() {
    let x = node(20);
    let threshold = parameter("threshold", 1);
    let doubled = double(&x);
    assert_eq!((*doubled, *threshold), (40, 1));
    assert!(x.id().is_detached() && doubled.id().is_detached());
}

#[test]
fn the_search_optimizer_improves_the_examples_score_over_rounds() {
    let tracer = SessionTracer::default();
    let (scores, _) = task::optimize(&tracer, &mut task::search_optimizer(), 8);
    let best_so_far: Vec<f64> = scores
        .iter()
        .scan(0.0_f64, |best, score| {
            *best = best.max(*score);
            Some(*best)
        })
        .collect();
    assert!(scores[0] < 0.6, "a weak start: {scores:?}");
    assert_eq!(*scores.last().unwrap(), 1.0, "{scores:?}");
    assert!(best_so_far.windows(2).all(|w| w[1] >= w[0]));
    assert_eq!(
        scores,
        task::optimize(&SessionTracer::default(), &mut task::search_optimizer(), 8).0,
        "deterministic"
    );
    assert_eq!(
        tracer.parameters().get("threshold"),
        Some(json!(0.5)),
        "the updates are what the next session reads"
    );
}

/// A scripted stand-in for a language model, named as such: it replies what it is given.
struct ScriptedClient {
    replies: Vec<String>,
    prompts: Vec<String>,
}

impl LlmClient for ScriptedClient {
    fn complete(&mut self, prompt: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        self.prompts.push(prompt.to_owned());
        self.replies.pop().ok_or_else(|| "no reply scripted".into())
    }
}

#[test]
fn the_llm_optimizer_sends_the_problem_and_parses_the_reply() {
    let tracer = SessionTracer::default();
    let (_, graph, output) = task::run_round(&tracer);
    let propagation = graph.backward(output, Feedback::scored("too strict", 0.5));
    let reply = "```json\n{\"reasoning\": \"lower it\", \"answer\": \"\", \"suggestion\": {\"threshold\": 0.5}}\n```"
        .to_owned();
    let mut optimizer = LlmOptimizer::new(ScriptedClient {
        replies: vec![reply],
        prompts: Vec::new(),
    });
    let updates = optimizer.step(&propagation).unwrap();
    assert_eq!(
        updates,
        Updates([("threshold".to_owned(), json!(0.5))].into_iter().collect())
    );
    assert!(
        matches!(optimizer.step(&propagation), Err(OptimizeError::Client(message)) if message == "no reply scripted")
    );

    let bad = |reply: &str| Updates::from_llm_reply(reply, &propagation).unwrap_err();
    assert!(matches!(bad("no json here"), OptimizeError::NoJson { .. }));
    assert!(matches!(bad("{not json}"), OptimizeError::InvalidJson(_)));
    assert!(matches!(
        bad("{\"reasoning\": \"x\"}"),
        OptimizeError::MissingSuggestion
    ));
    let unknown = bad("{\"suggestion\": {\"temperature\": 1}}");
    assert!(
        unknown.to_string().contains("`temperature`") && unknown.to_string().contains("threshold"),
        "{unknown}"
    );
}

#[test]
fn the_graph_is_stored_with_its_session() {
    let dir = std::env::temp_dir().join(format!("agent-trace-dag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.join("traces.db")).unwrap())
        .build();
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| add(node(1), &node(2)));
    let trace = session.end().unwrap();
    tracer.flush().unwrap();
    assert_eq!(trace.graph.nodes.len(), 3);
    let stored = TraceStore::open(dir.join("traces.db"))
        .unwrap()
        .get(&trace.session_id)
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(stored, Some(trace));
}
