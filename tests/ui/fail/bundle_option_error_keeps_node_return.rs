//! A mistake in a `#[bundle]` attribute is reported once, at the attribute: the function
//! still returns `Node<R>`, so its callers (which use the node) compile.
use agent_trace::{Node, bundle, node};

#[bundle(descripton = "Adds one.")]
fn add_one(x: Node<u32>) -> u32 {
    *x + 1
}

#[bundle(trainable, skip(y))]
async fn double(x: Node<u32>) -> Result<u32, String> {
    Ok(*x * 2)
}

fn main() {
    let sum: Node<u32> = add_one(node(1));
    let _ = sum.id();
    let _ = *sum + 1;
    let _doubled = async { double(node(2)).await.value().clone() };
}
