//! The headers a request sends come from three levels: the API's (the provider's
//! `headers`), the endpoint's fixed ones, and the call's own (`#[header]` arguments, the
//! escape hatch's `header`). A narrower level's header replaces a wider level's of the
//! same name (an endpoint asking for GitHub's raw media type sends that `Accept` alone);
//! every value one level gives a name is sent. When the call sends a token,
//! `Authorization` is the runtime's: a header of that name is refused, never sent beside
//! the token; so is `Host`, which would name another server than the token's.

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::Outgoing;
use super::build::header_pair;
use crate::error::Error;

/// Adds `out`'s headers to `headers`, the API's (`api`) first; `bearer` when the request
/// carries a token. Out of line: a call with no header of its own does not run it.
#[inline(never)]
pub(super) fn add_levels(
    headers: &mut HeaderMap,
    api: &[(HeaderName, HeaderValue)],
    out: &Outgoing,
    bearer: bool,
) -> Result<(), Error> {
    for (name, value) in api {
        refuse_authorization(out, name, bearer)?;
        headers.append(name, value.clone());
    }
    add_level(headers, out, out.fixed_headers().iter().copied(), bearer)?;
    let own = out.headers.iter().map(|(n, v)| (&**n, &**v));
    add_level(headers, out, own, bearer)
}

/// Adds one level's headers, each name replacing the wider levels' values of it.
fn add_level<'h>(
    headers: &mut HeaderMap,
    out: &Outgoing,
    level: impl Iterator<Item = (&'h str, &'h str)> + Clone,
    bearer: bool,
) -> Result<(), Error> {
    for (i, (name, value)) in level.clone().enumerate() {
        let (header, value) = header_pair(out.endpoint(), name, value)?;
        refuse_authorization(out, &header, bearer)?;
        // Levels hold a few headers: a look back costs less than keeping the names seen.
        let repeated = level
            .clone()
            .take(i)
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        if repeated {
            headers.append(header, value);
        } else {
            headers.insert(header, value);
        }
    }
    Ok(())
}

/// Every header of `out` in the order sent, the levels merged: what request hooks see.
pub(super) fn merged(api: &[(HeaderName, HeaderValue)], out: &Outgoing) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = (api.iter())
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into(),
            )
        })
        .collect();
    merge_level(&mut list, out.fixed_headers().iter().copied());
    merge_level(&mut list, out.headers.iter().map(|(n, v)| (&**n, &**v)));
    list
}

fn merge_level<'h>(
    list: &mut Vec<(String, String)>,
    level: impl Iterator<Item = (&'h str, &'h str)> + Clone,
) {
    for (name, _) in level.clone() {
        list.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    list.extend(level.map(|(n, v)| (n.to_owned(), v.to_owned())));
}

/// Adds the headers request hooks left (`hooked`), as they are.
pub(super) fn add_hooked(
    headers: &mut HeaderMap,
    out: &Outgoing,
    hooked: &[(String, String)],
    bearer: bool,
) -> Result<(), Error> {
    for (name, value) in hooked {
        let (header, value) = header_pair(out.endpoint(), name, value)?;
        refuse_authorization(out, &header, bearer)?;
        headers.append(header, value);
    }
    Ok(())
}

/// An `Authorization` or `Host` header beside the call's token.
fn refuse_authorization(out: &Outgoing, name: &HeaderName, bearer: bool) -> Result<(), Error> {
    match bearer.then(|| token_header_refused(out.endpoint(), name.as_str())) {
        Some(Some(refused)) => Err(refused),
        _ => Ok(()),
    }
}

/// The refusal of header `name` (any case) in a request to `endpoint` that sends a token,
/// if it is one the token's request cannot carry: `Authorization` (the token's own) or
/// `Host` (it would name another server, another tenant behind one front end, than the
/// URL the token may go to).
pub(super) fn token_header_refused(endpoint: &str, name: &str) -> Option<Error> {
    if name.eq_ignore_ascii_case(AUTHORIZATION.as_str()) {
        return Some(authorization_refused(endpoint));
    }
    name.eq_ignore_ascii_case(HOST.as_str())
        .then(|| Error::InvalidArgument {
            endpoint: endpoint.to_owned(),
            argument: "header Host".to_owned(),
            message: "is the URL's: a request with a token goes to the host of its URL".to_owned(),
        })
}

/// The refusal of an `Authorization` header in a request to `endpoint` that sends a token.
fn authorization_refused(endpoint: &str) -> Error {
    Error::InvalidArgument {
        endpoint: endpoint.to_owned(),
        argument: "header Authorization".to_owned(),
        message: "is the runtime's to send: it carries the session's access token (a request \
                  with a header of its own would send two)"
            .to_owned(),
    }
}
