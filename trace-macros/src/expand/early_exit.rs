//! A `#[track_caller]` body's early exits, made to leave a labelled block instead of the
//! function: `return v` becomes `break 'label v`, and `e?` a `match` that breaks with the
//! residual converted as `?` converts it (for `Result` and `Option`). Closures, async
//! blocks and nested items keep their own; macros' tokens are not seen (a `return` a
//! macro expands to leaves the function, and the call is recorded as cancelled).

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Item, Lifetime};

/// Rewrites the early exits of `block` to break out of `label`.
pub(crate) fn break_instead(block: &mut Block, label: &Lifetime, private: &TokenStream) {
    EarlyExits { label, private }.visit_block_mut(block);
}

struct EarlyExits<'a> {
    label: &'a Lifetime,
    private: &'a TokenStream,
}

impl VisitMut for EarlyExits<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        let label = self.label;
        let private = self.private;
        match expr {
            // Their `return`s and `?`s are their own.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(exit) => {
                if let Some(value) = &mut exit.expr {
                    self.visit_expr_mut(value);
                }
                let value = exit.expr.take();
                *expr = syn::parse_quote_spanned!(exit.span()=> break #label #value);
            }
            Expr::Try(exit) => {
                self.visit_expr_mut(&mut exit.expr);
                let inner = &exit.expr;
                *expr = syn::parse_quote_spanned! {exit.question_token.span=>
                    match #private::TryBranch::__trace_branch(#inner) {
                        ::core::ops::ControlFlow::Continue(__trace_value) => __trace_value,
                        ::core::ops::ControlFlow::Break(__trace_residual) => {
                            // Not `break 'label ::path`, which would read as a label `'label:`.
                            let __trace_exit = #private::FromResidual::__trace_from_residual(__trace_residual);
                            break #label __trace_exit
                        }
                    }
                };
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _item: &mut Item) {
        // A nested function's `return`s are its own.
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn returns_and_question_marks_break_out_of_the_label() {
        let mut block: syn::Block = syn::parse_quote!({
            if a {
                return Ok(1);
            }
            let v = f()?;
            let g = || {
                return 2;
            };
            Ok(v)
        });
        let label = syn::Lifetime::new("'__trace_body", proc_macro2::Span::call_site());
        super::break_instead(&mut block, &label, &quote::quote!(::p));
        let text = quote::ToTokens::to_token_stream(&block).to_string();
        assert!(text.contains("break '__trace_body Ok (1)"), "{text}");
        assert!(
            text.contains("match :: p :: TryBranch :: __trace_branch (f ())"),
            "{text}"
        );
        assert!(text.contains("| | { return 2 ; }"), "a closure keeps its own: {text}");
    }
}
