//! How the body runs as the call, by the shape of the function: an `async fn`'s body as
//! an async block, a sync function returning a future as a prelude and the future it
//! makes, a `#[track_caller]` function's body in place, any other body as a closure.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ExprAsync, ExprCall, ReturnType, Type};

use super::early_exit;
use crate::ast::{Body, Boxing, Items, TracedFn};
use crate::attr::MacroKind;

/// The shape of the traced function, as far as running its body goes.
#[derive(Clone, Copy)]
pub(crate) enum Shape<'a> {
    /// `async fn`.
    Async,
    /// A body that is one `Box::pin(async { .. })` (an `#[async_trait]` method).
    BoxedBlock(&'a ExprCall, &'a ExprAsync),
    /// A sync function whose return type is a future: the call spans the future's life.
    ReturnsFuture(Boxing),
    /// A function (`async` or not) returning a stream or an iterator: the call spans the
    /// reading of its items.
    ReturnsItems(Items, Boxing),
    /// A `#[track_caller]` function: the body stays in the function, so that the caller's
    /// location reaches it.
    InPlace,
    /// Any other function: the body runs as a closure.
    Sync,
}

impl<'a> Shape<'a> {
    /// The shape of `function`; `stream_alias` is the `stream` option.
    pub(crate) fn of(kind: MacroKind, function: &'a TracedFn, stream_alias: bool) -> Shape<'a> {
        // A bundle returns a node of the value; a future's or a stream's node would hold no
        // value yet.
        if kind != MacroKind::Bundle
            && let Some((items, boxing)) = function.returned_items(stream_alias)
        {
            return Shape::ReturnsItems(items, boxing);
        }
        if function.sig.asyncness.is_some() {
            return Shape::Async;
        }
        if let Some((call, future)) = function.boxed_future() {
            return Shape::BoxedBlock(call, future);
        }
        if kind != MacroKind::Bundle
            && let Some(future) = function.returned_future()
        {
            return Shape::ReturnsFuture(future);
        }
        if function.tracks_caller() {
            return Shape::InPlace;
        }
        Shape::Sync
    }

    /// Whether the call is the task's parent only while a future is polled.
    pub(crate) fn is_async(self) -> bool {
        matches!(
            self,
            Shape::Async | Shape::BoxedBlock(..) | Shape::ReturnsFuture(_) | Shape::ReturnsItems(..)
        )
    }
}

/// What a function returning a stream or an iterator records of its items.
pub(crate) struct ItemOptions<'a> {
    /// Whether a replay answers the call (its items are kept for one, and given by one).
    pub(crate) replays: bool,
    /// Whether the items make the output (`capture_result`).
    pub(crate) output: bool,
    /// Whether items that carry token usage record it (LLM calls).
    pub(crate) usage: bool,
    /// `stream_errors = "continue"`.
    pub(crate) continue_on_err: bool,
    /// `accumulate = Type`.
    pub(crate) accumulate: Option<&'a syn::Path>,
}

/// The code that runs the body as `__trace_call` (an `Option<Call>`) and finishes it with
/// `finish`, in the function's tail position.
pub(crate) fn run(
    shape: Shape<'_>,
    function: &TracedFn,
    finish: &TokenStream,
    items: &ItemOptions<'_>,
    replay: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let output = &function.sig.output;
    match shape {
        Shape::Async => {
            let block = with_return_edge(&function.body, output);
            let future = quote_spanned!(function.body.span()=> async move #block);
            run_async(&future, finish, private)
        }
        Shape::BoxedBlock(call, future) => run_boxed(call, future, finish, replay, private),
        Shape::ReturnsFuture(future) => run_returned_future(future, function, finish, private),
        Shape::ReturnsItems(kind, boxing) => run_returned_items(kind, boxing, function, items, private),
        Shape::InPlace => run_in_place(function, finish, private),
        Shape::Sync => run_sync(function, finish, private),
    }
}

fn run_sync(function: &TracedFn, finish: &TokenStream, private: &TokenStream) -> TokenStream {
    let block = with_return_edge(&function.body, &function.sig.output);
    let block = if returns_never(&function.sig.output) {
        // `-> !`: the body runs as a call returning `()` (it never does).
        quote!({
            #[allow(unreachable_code, clippy::diverging_sub_expression)]
            let __trace_never = { #block; ::core::unreachable!() };
            __trace_never
        })
    } else {
        block
    };
    quote! {
        // Made `FnOnce` by its bound, so that a body may return what it borrows through
        // a `&mut` parameter (an `FnMut` closure could not let it escape).
        let __trace_body = #private::once(move || #block);
        match __trace_call {
            ::core::option::Option::None => __trace_body(),
            ::core::option::Option::Some(__trace_open) => {
                #private::run_sync(__trace_open, __trace_body, |__trace_open, __trace_return| { #finish })
            }
        }
    }
}

/// Runs `__trace_future` as `__trace_open`, finishes the call, and is the future's output.
fn in_call(finish: &TokenStream, private: &TokenStream) -> TokenStream {
    quote! {
        let (__trace_return, __trace_open) = #private::InCall::new(__trace_open, __trace_future).await;
        #private::finish_with(__trace_open, &__trace_return, |__trace_open, __trace_return| { #finish });
        __trace_return
    }
}

/// Awaits `future` as the call, or plainly outside a scope.
fn run_async(future: &TokenStream, finish: &TokenStream, private: &TokenStream) -> TokenStream {
    let in_call = in_call(finish, private);
    quote! {
        let __trace_future = #future;
        match __trace_call {
            ::core::option::Option::None => __trace_future.await,
            ::core::option::Option::Some(__trace_open) => { #in_call }
        }
    }
}

/// `Box::pin(async { .. })`: the call is opened when the method is called and the inner
/// future runs as the call.
/// `replay` is the replay's step, taken first inside the future.
fn run_boxed(
    call: &ExprCall,
    future: &ExprAsync,
    finish: &TokenStream,
    replay: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let func = &call.func;
    let inner = run_async(&future.to_token_stream(), finish, private);
    quote_spanned!(call.paren_token.span.join()=> #func(async move { #replay #inner }))
}

/// A sync function returning a future: the body (the statements before the future and
/// the expression making it) runs as the call, then the future runs as the call until it
/// completes or is dropped. Outside a scope the future is the body's own (boxed), or
/// awaited in a wrapper (`impl Future`, whose type must be one).
fn run_returned_future(
    future: Boxing,
    function: &TracedFn,
    finish: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let block = with_return_edge(&function.body, &function.sig.output);
    let in_call = in_call(finish, private);
    let body = quote!(let __trace_body = #private::once(move || #block););
    match future {
        Boxing::Boxed => quote! {
            #body
            match __trace_call {
                ::core::option::Option::None => __trace_body(),
                ::core::option::Option::Some(__trace_open) => {
                    let (__trace_open, __trace_future) = #private::run_prelude(__trace_open, __trace_body);
                    ::std::boxed::Box::pin(async move { #in_call })
                }
            }
        },
        Boxing::Opaque => quote! {
            #body
            let (__trace_call, __trace_future) = match __trace_call {
                ::core::option::Option::None => (::core::option::Option::None, __trace_body()),
                ::core::option::Option::Some(__trace_open) => {
                    let (__trace_open, __trace_future) = #private::run_prelude(__trace_open, __trace_body);
                    (::core::option::Option::Some(__trace_open), __trace_future)
                }
            };
            async move {
                match __trace_call {
                    ::core::option::Option::None => __trace_future.await,
                    ::core::option::Option::Some(__trace_open) => { #in_call }
                }
            }
        },
    }
}

/// A function returning a stream or an iterator: the body (an `async fn`'s as a future,
/// another's as a closure) runs as the call and makes the items' source, which is wrapped
/// to record its items into the call until it ends. Outside a scope a boxed source is the
/// body's own; `impl Trait` is wrapped all the same (its type must be one), recording nothing.
fn run_returned_items(
    kind: Items,
    boxing: Boxing,
    function: &TracedFn,
    options: &ItemOptions<'_>,
    private: &TokenStream,
) -> TokenStream {
    let block = with_return_edge(&function.body, &function.sig.output);
    let is_async = function.sig.asyncness.is_some();
    let live_fn = match kind {
        Items::Stream => quote!(live_stream),
        Items::Iterator => quote!(live_iter),
    };
    let live = if is_async {
        quote! {
            match __trace_call {
                ::core::option::Option::None => (::core::option::Option::None, #private::#live_fn(__trace_future.await)),
                ::core::option::Option::Some(__trace_open) => {
                    let (__trace_source, __trace_open) = #private::InCall::new(__trace_open, __trace_future).await;
                    (::core::option::Option::Some(__trace_open), #private::#live_fn(__trace_source))
                }
            }
        }
    } else {
        quote! {
            match __trace_call {
                ::core::option::Option::None => (::core::option::Option::None, #private::#live_fn(__trace_body())),
                ::core::option::Option::Some(__trace_open) => {
                    let (__trace_open, __trace_source) = #private::run_prelude(__trace_open, __trace_body);
                    (::core::option::Option::Some(__trace_open), #private::#live_fn(__trace_source))
                }
            }
        }
    };
    // Under a replay, the recorded items, decoded into the items' own type (known from the
    // body, which does not run then).
    let chosen = if options.replays {
        let (probe, witness) = match (kind, is_async) {
            (Items::Stream, false) => (quote!(stream_items), quote!(__trace_body)),
            (Items::Stream, true) => (quote!(stream_items_later), quote!(__trace_future)),
            (Items::Iterator, false) => (quote!(iter_items), quote!(__trace_body)),
            (Items::Iterator, true) => (quote!(iter_items_later), quote!(__trace_future)),
        };
        quote! {
            let __trace_replayed = if __trace_call.as_ref().is_some_and(#private::Call::is_replaying) {
                #private::replay_items!(&mut __trace_call, #private::#probe(&#witness))
            } else {
                ::core::option::Option::None
            };
            let (__trace_call, __trace_source) = match __trace_replayed {
                ::core::option::Option::Some(__trace_items) => (__trace_call, #private::ItemSource::Replayed { items: __trace_items }),
                ::core::option::Option::None => #live,
            };
        }
    } else {
        quote!(let (__trace_call, __trace_source) = #live;)
    };
    // The body's items are the type the signature names, where it names one an expression
    // can: the item closure below sees it even when the body leaves it to inference.
    let declared = function.declared_items();
    let made = if is_async {
        let future = quote_spanned!(function.body.span()=> async move #block);
        let future = match (declared, kind) {
            (Some(item), Items::Stream) => {
                quote_spanned!(item.span()=> #private::stream_future::<#item, _, _>(#future))
            }
            (Some(item), Items::Iterator) => {
                quote_spanned!(item.span()=> #private::iter_future::<#item, _, _>(#future))
            }
            (None, _) => future,
        };
        quote! {
            let __trace_future = #future;
            #chosen
        }
    } else {
        let body = match (declared, kind) {
            (Some(item), Items::Stream) => quote_spanned!(item.span()=> #private::stream_body::<#item, _, _>),
            (Some(item), Items::Iterator) => quote_spanned!(item.span()=> #private::iter_body::<#item, _, _>),
            (None, _) => quote!(#private::once),
        };
        quote! {
            let __trace_body = #body(move || #block);
            #chosen
        }
    };
    let wrapper = match kind {
        Items::Stream => quote!(#private::InStream),
        Items::Iterator => quote!(#private::InIter),
    };
    let errors = if options.continue_on_err {
        quote!(#private::StreamErrors::Continue)
    } else {
        quote!(#private::StreamErrors::End)
    };
    let usage = options.usage;
    // Items are kept for a replay only where the result is recorded (`capture_result`).
    let keep = options.replays && options.output;
    let (constructor, on_item) = match options.accumulate {
        None => {
            let output = options.output;
            (
                quote!(#wrapper::new),
                quote!(#private::item!(__trace_item, __trace_items, output: #output, usage: #usage, keep: #keep)),
            )
        }
        // Spanned at the user's type: a type that does not accumulate these items is
        // reported there.
        Some(accumulator) => (
            quote_spanned!(accumulator.span()=> #wrapper::<_, #private::Accumulator<#accumulator, _>, _, _>::accumulated),
            quote_spanned! {accumulator.span()=>
                __trace_items.accumulator().push(__trace_item);
                #private::item!(__trace_item, __trace_items, output: false, usage: #usage, keep: #keep)
            },
        ),
    };
    let wrap = |call: TokenStream| quote!(#constructor(#call, __trace_source, #errors, #keep, |__trace_item, __trace_items| { #on_item }));
    let wrapped = match boxing {
        Boxing::Opaque => wrap(quote!(__trace_call)),
        Boxing::Boxed => {
            let ReturnType::Type(_, declared) = &function.sig.output else {
                return quote!(::core::compile_error!(
                    "a stream is returned by a function with a return type"
                ));
            };
            let declared = erase_impl_trait(declared);
            let boxed = match kind {
                Items::Stream => quote!(::std::boxed::Box::pin),
                Items::Iterator => quote!(::std::boxed::Box::new),
            };
            let wrapped = wrap(quote!(__trace_call));
            quote! {
                match (__trace_call, __trace_source) {
                    (::core::option::Option::None, #private::ItemSource::Live { source: __trace_source }) => __trace_source,
                    (__trace_call, __trace_source) => {
                        let __trace_wrapped: #declared = #boxed(#wrapped);
                        __trace_wrapped
                    }
                }
            }
        }
    };
    // An LLM call that returns a stream was read as one.
    let streamed = options.usage.then(|| {
        quote! {
            let mut __trace_call = __trace_call;
            if let ::core::option::Option::Some(__trace_open) = &mut __trace_call {
                #private::Call::streamed(__trace_open);
            }
        }
    });
    quote! {
        #made
        #streamed
        #wrapped
    }
}

/// A `#[track_caller]` function: the body runs in the function itself (a closure would
/// not see the caller), as a labelled block whose `return`s and `?`s leave the block
/// rather than the function, so that the call is finished with what it returns. A panic
/// ends the call as panicked (the open call is dropped while unwinding).
fn run_in_place(function: &TracedFn, finish: &TokenStream, private: &TokenStream) -> TokenStream {
    let output = &function.sig.output;
    if returns_never(output) {
        let body = &function.body;
        return quote!(#body);
    }
    let label = syn::Lifetime::new("'__trace_body", proc_macro2::Span::call_site());
    let block = match &function.body {
        Body::Parsed(block) => {
            let mut block = block.clone();
            early_exit::break_instead(&mut block, &label, private);
            block.to_token_stream()
        }
        Body::Raw(group) => group.to_token_stream(),
    };
    let annotation = match output {
        ReturnType::Default => quote!(: ()),
        ReturnType::Type(_, declared) => {
            let erased = erase_impl_trait(declared);
            quote!(: #erased)
        }
    };
    quote! {
        #[allow(unused_labels)]
        let __trace_return #annotation = #label: #block;
        if let ::core::option::Option::Some(__trace_open) = __trace_call {
            #private::finish_with(__trace_open, &__trace_return, |__trace_open, __trace_return| { #finish });
        }
        __trace_return
    }
}

/// Whether the function returns `!`.
pub(crate) fn returns_never(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
}

/// Puts an unreachable `return` of the declared type before the body, so that the type
/// of the closure or async block is inferred from the signature (and `?` works), with type
/// errors pointing at the user's return type. The body stays a block of its own, so that
/// what it declares (`use Enum::*;`) does not reach the edge's type, and clippy sees its
/// items and statements as written.
pub(crate) fn with_return_edge(body: &Body, output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, declared) = output else {
        return body.to_token_stream();
    };
    if matches!(**declared, Type::Never(_)) {
        // `!` is not a type a `let` may name on stable Rust.
        return body.to_token_stream();
    }
    let erased = erase_impl_trait(declared);
    let edge = quote_spanned! {declared.span()=>
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value, clippy::unreachable, clippy::needless_return)]
        if false {
            let __trace_fake_return: #erased = ::core::unreachable!();
            return __trace_fake_return;
        }
    };
    // The body's braces as the expansion's (placed where the user's are): a block in a
    // block is the expansion's doing, not a brace `unused_braces` should ask the user to drop.
    let contents = match body {
        Body::Parsed(block) => {
            let statements = &block.stmts;
            quote!(#(#statements)*)
        }
        Body::Raw(group) => group.stream(),
    };
    let mut inner = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, contents);
    inner.set_span(proc_macro2::Span::call_site().located_at(body.span()));
    quote_spanned!(body.span()=> { #edge #inner })
}

/// The type with each `impl Trait` replaced by `_`: a `let` cannot name an opaque type.
fn erase_impl_trait(ty: &Type) -> Type {
    let mut erased = ty.clone();
    EraseImplTrait.visit_type_mut(&mut erased);
    erased
}

struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = syn::parse_quote_spanned!(impl_trait.span()=> _);
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
