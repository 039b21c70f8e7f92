//! The rules of `paginate(...)`: one way to page, with the companions it needs and none
//! it cannot use, on an endpoint that returns the items of one page.

use quote::ToTokens;
use syn::{LitStr, Type};

use crate::ast::{PageStyle, PaginateArgs, Pagination, Slot};
use crate::ctxt::Ctxt;

const WAYS: &str = "`link` (the `Link` header's `rel=\"next\"`), `page = \"page\"` \
                    (a page number), `offset = \"offset\"` (an item offset) or \
                    `cursor = \"next_cursor\", param = \"cursor\"` (a cursor in the body)";

/// Checks `paginate(...)` of an endpoint returning `ok`; `None` when a rule fails.
pub(super) fn check<'a>(
    cx: &Ctxt,
    p: &'a PaginateArgs,
    ok: Option<&Type>,
) -> Option<Pagination<'a>> {
    if let Some(ok) = ok {
        returns_items(cx, ok);
    }
    let mut ways = Vec::new();
    if let Some(link) = &p.link {
        ways.push((link.to_token_stream(), PageStyle::Link));
    }
    if let Some(page) = p.page.given() {
        ways.push((
            page.to_token_stream(),
            PageStyle::Page(page, p.per_page.given()),
        ));
    }
    if let Some(offset) = p.offset.given() {
        ways.push((
            offset.to_token_stream(),
            PageStyle::Offset(offset, p.limit.given()),
        ));
    }
    if let Some(cursor) = p.cursor.given() {
        match p.param.given() {
            Some(param) => ways.push((cursor.to_token_stream(), PageStyle::Cursor(cursor, param))),
            None => cx.error_spanned_by(
                cursor,
                "a cursor is sent back in a query parameter: add `param = \"cursor\"`",
            ),
        }
    }
    companion_of(cx, &p.per_page, &p.page, "per_page", "page = \"page\"");
    companion_of(cx, &p.limit, &p.offset, "limit", "offset = \"offset\"");
    companion_of(cx, &p.param, &p.cursor, "param", "cursor = \"next_cursor\"");
    for (extra, _) in ways.iter().skip(1) {
        cx.error_spanned_by(extra, format!("give one way to page, one of: {WAYS}"));
    }
    let refused = [
        &p.page,
        &p.offset,
        &p.cursor,
        &p.param,
        &p.per_page,
        &p.limit,
        &p.items,
    ]
    .iter()
    .any(|s| matches!(s, Slot::Refused));
    // A cursor without `param` is reported above, not again as no way at all.
    let cursor_alone = p.cursor.given().is_some();
    if ways.is_empty() && !refused && !cursor_alone {
        cx.error_spanned_by(&p.at, format!("`paginate(...)` needs one of: {WAYS}"));
    }
    if ways.len() != 1 || refused {
        return None;
    }
    let (_, style) = ways.pop()?;
    Some(Pagination {
        style,
        items: p.items.given(),
    })
}

/// `per_page`, `limit` and `param` only mean something beside their way of paging.
fn companion_of(cx: &Ctxt, companion: &Slot<LitStr>, of: &Slot<LitStr>, name: &str, example: &str) {
    if let (Some(lit), Slot::Absent) = (companion.given(), of) {
        cx.error_spanned_by(lit, format!("`{name}` goes with `{example}`"));
    }
}

/// The declared method returns the first page's items; `{name}_pages` gives each page's
/// status and headers.
fn returns_items(cx: &Ctxt, ok: &Type) {
    if let Type::Path(p) = ok
        && p.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Response")
    {
        cx.error_spanned_by(
            ok,
            "a paginated endpoint returns the items of one page, such as `Vec<Repo>`: \
             the generated `..._pages` method gives each page with its status and headers",
        );
    }
}
