//! The traced function as the macros see it: attributes, signature, body and the names
//! its parameters bind.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    AttrStyle, Attribute, Block, Expr, ExprAsync, ExprCall, FnArg, GenericArgument, Ident, Pat, PathArguments,
    ReturnType, Signature, Stmt, Token, Type, TypeParamBound, Visibility,
};

/// A function item. Its body is kept as raw tokens when it does not parse, so that a typo
/// in the body is reported once, by the compiler, at the user's code, and the rest of the
/// function still expands.
pub(crate) struct TracedFn {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Parsed(Block),
    Raw(proc_macro2::Group),
}

/// A name a parameter binds, in parameter order: `self`, a plain name, or each name a
/// pattern such as `(a, b): (u32, u32)` binds.
pub(crate) struct Binding {
    pub(crate) ident: Ident,
    pub(crate) is_self: bool,
    /// The parameter's `#[cfg(..)]` attributes: its capture exists only where it does.
    pub(crate) cfgs: Vec<Attribute>,
}

/// A function whose body does not parse: `attrs vis sig { tokens }`.
struct LooseFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: Option<proc_macro2::Group>,
}

impl Parse for LooseFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(syn::Token![;]) {
            input.parse::<syn::Token![;]>()?;
            None
        } else {
            Some(input.parse()?)
        };
        Ok(LooseFn { attrs, vis, sig, body })
    }
}

impl TracedFn {
    /// Parses the item the attribute is on.
    pub(crate) fn parse(item: TokenStream, attribute: &str) -> syn::Result<TracedFn> {
        if let Ok(item) = syn::parse2::<syn::ItemFn>(item.clone()) {
            let (inner_attrs, outer_attrs) = item
                .attrs
                .into_iter()
                .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
            return Ok(TracedFn {
                outer_attrs,
                inner_attrs,
                vis: item.vis,
                sig: item.sig,
                body: Body::Parsed(*item.block),
            });
        }
        match syn::parse2::<LooseFn>(item.clone()) {
            Ok(LooseFn {
                body: Some(body),
                attrs,
                vis,
                sig,
            }) => Ok(TracedFn {
                outer_attrs: attrs,
                inner_attrs: Vec::new(),
                vis,
                sig,
                body: Body::Raw(body),
            }),
            Ok(LooseFn { body: None, sig, .. }) => Err(syn::Error::new(
                sig.ident.span(),
                format!("#[{attribute}] needs a function with a body; put it on the trait's impl, not its declaration"),
            )),
            Err(_) => Err(syn::Error::new(
                first_token_span(&item),
                not_a_function(attribute, &item),
            )),
        }
    }

    /// The names the parameters bind, `self` first when there is a receiver.
    pub(crate) fn bindings(&self) -> Vec<Binding> {
        let mut bindings = Vec::new();
        for input in &self.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => bindings.push(Binding {
                    ident: Ident::new("self", receiver.self_token.span),
                    is_self: true,
                    cfgs: Vec::new(),
                }),
                FnArg::Typed(typed) => {
                    let from = bindings.len();
                    collect_pattern(&typed.pat, &mut bindings);
                    let cfgs: Vec<Attribute> = typed
                        .attrs
                        .iter()
                        .filter(|attr| attr.path().is_ident("cfg"))
                        .cloned()
                        .collect();
                    for binding in &mut bindings[from..] {
                        binding.cfgs.clone_from(&cfgs);
                    }
                }
            }
        }
        bindings
    }

    /// Whether the function takes `self`.
    pub(crate) fn has_receiver(&self) -> bool {
        self.sig.receiver().is_some()
    }

    /// The `Box::pin(async { … })` that an `#[async_trait]`-style method consists of, if
    /// this is one: its inner future is what gets traced.
    pub(crate) fn boxed_future(&self) -> Option<(&ExprCall, &ExprAsync)> {
        if self.sig.asyncness.is_some() {
            return None;
        }
        let Body::Parsed(block) = &self.body else { return None };
        let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
            return None;
        };
        let Expr::Path(func) = call.func.as_ref() else {
            return None;
        };
        let segments: Vec<String> = func.path.segments.iter().map(|s| s.ident.to_string()).collect();
        if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
            return None;
        }
        match call.args.first() {
            Some(Expr::Async(future)) => Some((call, future)),
            _ => None,
        }
    }

    /// For a function that is not `async`, whether its return type is a future, as written:
    /// `impl Future<..>`, or a boxed one (`Pin<Box<dyn Future<..>>>`, `BoxFuture<..>`,
    /// `LocalBoxFuture<..>`).
    pub(crate) fn returned_future(&self) -> Option<Boxing> {
        if self.sig.asyncness.is_some() {
            return None;
        }
        match self.returned_later()? {
            (Later::Future, boxing) => Some(boxing),
            _ => None,
        }
    }

    /// Whether the function (`async` or not) returns a stream or an iterator, as written
    /// (`impl Stream<..>`, `Pin<Box<dyn Stream<..>>>`, `BoxStream<..>`, `LocalBoxStream<..>`,
    /// `impl Iterator<..>`, `Box<dyn Iterator<..>>`); with `alias` (the `stream` option),
    /// a return type not recognised is taken as a boxed stream's alias.
    pub(crate) fn returned_items(&self, alias: bool) -> Option<(Items, Boxing)> {
        match self.returned_later() {
            Some((Later::Stream, boxing)) => Some((Items::Stream, boxing)),
            Some((Later::Iterator, boxing)) => Some((Items::Iterator, boxing)),
            Some((Later::Future, _)) => None,
            None if alias && matches!(self.sig.output, ReturnType::Type(..)) => Some((Items::Stream, Boxing::Boxed)),
            None => None,
        }
    }

    fn returned_later(&self) -> Option<(Later, Boxing)> {
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return None;
        };
        later_type(ty)
    }

    /// The type a replay rebuilds for a function that does not return a stream or an
    /// iterator — what its caller gets: the declared return type, or for a method
    /// `#[async_trait]` wrote, its future's `Output` — or why the function is not replayed.
    /// (A stream's or an iterator's items are replayed by their own type.)
    pub(crate) fn replayed_type(&self) -> Result<Type, &'static str> {
        let declared = match &self.sig.output {
            ReturnType::Default => return Ok(syn::parse_quote!(())),
            ReturnType::Type(_, declared) => declared,
        };
        if matches!(**declared, Type::Never(_)) {
            return Err("a function that never returns is not replayed");
        }
        let returned = if self.boxed_future().is_some() {
            future_output(declared).ok_or("the future's `Output` type is not written in the return type")?
        } else if self.returned_future().is_some() {
            return Err("a sync function that returns a future is not replayed yet: make it an `async fn`");
        } else {
            declared
        };
        let found = found_in(returned);
        if found.impl_trait {
            return Err("a function that returns an `impl Trait` is not replayed: its value cannot be rebuilt");
        }
        if found.borrow {
            return Err(
                "a function that returns a borrow (a reference or a lifetime) is not replayed: a recording can only give back owned values",
            );
        }
        Ok(returned.clone())
    }

    /// For a function that returns a stream or an iterator: whether a replay can give its
    /// items back — not when they are borrows (`Item = &str`), as far as the return type
    /// shows them.
    pub(crate) fn items_replayable(&self) -> Result<(), &'static str> {
        let ReturnType::Type(_, declared) = &self.sig.output else {
            return Ok(());
        };
        match items_type(declared) {
            Some(item) if found_in(item).borrow => Err(
                "a function whose items are borrows (a reference or a lifetime) is not replayed: a recording can only give back owned values",
            ),
            _ => Ok(()),
        }
    }

    /// For a function that returns a stream or an iterator: its items' type as the
    /// signature names it, when an expression may name it too (no `impl Trait` in it).
    pub(crate) fn declared_items(&self) -> Option<&Type> {
        let ReturnType::Type(_, declared) = &self.sig.output else {
            return None;
        };
        items_type(declared).filter(|item| !found_in(item).impl_trait)
    }

    /// Whether the function has `#[track_caller]`.
    pub(crate) fn tracks_caller(&self) -> bool {
        self.outer_attrs.iter().any(|attr| attr.path().is_ident("track_caller"))
    }
}

/// What a return type does later, when it is a future, a stream or an iterator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Later {
    Future,
    Stream,
    Iterator,
}

/// What a traced function's items come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Items {
    Stream,
    Iterator,
}

/// How a future, stream or iterator is returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boxing {
    /// `impl Trait<..>`.
    Opaque,
    /// In a box (`Pin<Box<dyn Trait<..>>>`, `Box<dyn Iterator<..>>`) or an alias of one.
    Boxed,
}

/// The trait among `bounds` that says what the type does later; `None` when there is none,
/// or when another trait is required too (which the traced wrapper would not implement).
fn later_bound(bounds: &Punctuated<TypeParamBound, Token![+]>) -> Option<Later> {
    let mut later = None;
    for bound in bounds {
        let TypeParamBound::Trait(bound) = bound else { continue };
        let Some(last) = bound.path.segments.last() else {
            continue;
        };
        let found = match last.ident.to_string().as_str() {
            "Future" => Later::Future,
            "Stream" => Later::Stream,
            "Iterator" => Later::Iterator,
            "Send" | "Sync" | "Unpin" => continue,
            _ => return None,
        };
        if later.replace(found).is_some() {
            return None;
        }
    }
    later
}

fn later_type(ty: &Type) -> Option<(Later, Boxing)> {
    match ty {
        Type::ImplTrait(opaque) => later_bound(&opaque.bounds).map(|later| (later, Boxing::Opaque)),
        Type::Paren(inner) => later_type(&inner.elem),
        Type::Group(inner) => later_type(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "BoxFuture" | "LocalBoxFuture" => return Some((Later::Future, Boxing::Boxed)),
                "BoxStream" | "LocalBoxStream" => return Some((Later::Stream, Boxing::Boxed)),
                _ => {}
            }
            if last.ident == "Box" {
                // `Box<dyn Iterator<..>>`: a box is an iterator; a box of a future or a
                // stream is not one unless pinned.
                return match trait_object(first_type_argument(last)?)? {
                    Later::Iterator => Some((Later::Iterator, Boxing::Boxed)),
                    _ => None,
                };
            }
            if last.ident != "Pin" {
                return None;
            }
            let Type::Path(boxed) = first_type_argument(last)? else {
                return None;
            };
            let boxed = boxed.path.segments.last().filter(|segment| segment.ident == "Box")?;
            match trait_object(first_type_argument(boxed)?)? {
                Later::Iterator => None,
                later => Some((later, Boxing::Boxed)),
            }
        }
        _ => None,
    }
}

/// The `Output = T` a future type names (`Pin<Box<dyn Future<Output = T> + Send>>`).
fn future_output(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(path) => output_in_path(&path.path),
        Type::TraitObject(object) => object.bounds.iter().find_map(|bound| match bound {
            TypeParamBound::Trait(bound) => output_in_path(&bound.path),
            _ => None,
        }),
        Type::Paren(inner) => future_output(&inner.elem),
        Type::Group(inner) => future_output(&inner.elem),
        _ => None,
    }
}

/// The item type a stream or iterator type names: its `Item = T`, or a boxed stream
/// alias's type argument (`BoxStream<'a, T>`).
fn items_type(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(opaque) => opaque.bounds.iter().find_map(|bound| match bound {
            TypeParamBound::Trait(bound) => assoc_in_path(&bound.path, "Item"),
            _ => None,
        }),
        Type::Paren(inner) => items_type(&inner.elem),
        Type::Group(inner) => items_type(&inner.elem),
        Type::TraitObject(object) => object.bounds.iter().find_map(|bound| match bound {
            TypeParamBound::Trait(bound) => assoc_in_path(&bound.path, "Item"),
            _ => None,
        }),
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            if matches!(last.ident.to_string().as_str(), "BoxStream" | "LocalBoxStream") {
                return first_type_argument(last);
            }
            // `Pin<Box<dyn Stream<Item = T>>>`, `Box<dyn Iterator<Item = T>>`.
            items_type(first_type_argument(last)?)
        }
        _ => None,
    }
}

/// The type bound to `name` in a path's angle brackets (`Stream<Item = T>`).
fn assoc_in_path<'a>(path: &'a syn::Path, name: &str) -> Option<&'a Type> {
    path.segments.iter().find_map(|segment| {
        let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
            return None;
        };
        arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == name => Some(&assoc.ty),
            _ => None,
        })
    })
}

fn output_in_path(path: &syn::Path) -> Option<&Type> {
    path.segments.iter().find_map(|segment| {
        let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
            return None;
        };
        arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            GenericArgument::Type(inner) => future_output(inner),
            _ => None,
        })
    })
}

/// What a return type holds that a replay cannot rebuild.
#[derive(Default)]
struct Found {
    /// An `impl Trait` (a type no `let` can name).
    impl_trait: bool,
    /// A reference or a lifetime (a borrow, which no recording can give back; and
    /// `Deserialize` of a borrow is not chosen by the type alone).
    borrow: bool,
}

impl syn::visit_mut::VisitMut for Found {
    fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {
        self.impl_trait = true;
    }
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        self.borrow = true;
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }
    fn visit_lifetime_mut(&mut self, _: &mut syn::Lifetime) {
        self.borrow = true;
    }
}

fn found_in(ty: &Type) -> Found {
    let mut found = Found::default();
    syn::visit_mut::VisitMut::visit_type_mut(&mut found, &mut ty.clone());
    found
}

fn trait_object(ty: &Type) -> Option<Later> {
    match ty {
        Type::TraitObject(object) => later_bound(&object.bounds),
        _ => None,
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// What to say of an item that is not a function: for an `impl` block, where the
/// attribute goes instead.
fn not_a_function(attribute: &str, item: &TokenStream) -> String {
    let Ok(block) = syn::parse2::<syn::ItemImpl>(item.clone()) else {
        return format!("#[{attribute}] applies to functions and methods");
    };
    let async_trait = block.attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "async_trait")
    });
    if async_trait {
        format!(
            "#[{attribute}] applies to functions and methods: put it below #[async_trait], on each method of \
             the impl"
        )
    } else {
        format!("#[{attribute}] applies to functions and methods: put it on each method of the impl, not on the block")
    }
}

fn collect_pattern(pat: &Pat, bindings: &mut Vec<Binding>) {
    match pat {
        Pat::Ident(pat) => {
            bindings.push(Binding {
                ident: pat.ident.clone(),
                is_self: pat.ident == "self",
                cfgs: Vec::new(),
            });
            if let Some((_, sub)) = &pat.subpat {
                collect_pattern(sub, bindings);
            }
        }
        Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| collect_pattern(p, bindings)),
        Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| collect_pattern(p, bindings)),
        Pat::Struct(pat) => pat
            .fields
            .iter()
            .for_each(|field| collect_pattern(&field.pat, bindings)),
        Pat::Slice(slice) => slice.elems.iter().for_each(|p| collect_pattern(p, bindings)),
        Pat::Reference(reference) => collect_pattern(&reference.pat, bindings),
        Pat::Type(typed) => collect_pattern(&typed.pat, bindings),
        Pat::Paren(paren) => collect_pattern(&paren.pat, bindings),
        Pat::Or(or) => {
            if let Some(first) = or.cases.first() {
                collect_pattern(first, bindings);
            }
        }
        _ => {}
    }
}

fn first_token_span(item: &TokenStream) -> proc_macro2::Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |token| token.span())
}

impl quote::ToTokens for Body {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Body::Parsed(block) => block.to_tokens(tokens),
            Body::Raw(group) => group.to_tokens(tokens),
        }
    }
}

impl Body {
    /// The span of the whole body, for generated code that stands for it.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        match self {
            Body::Parsed(block) => block.span(),
            Body::Raw(group) => group.span(),
        }
    }
}
