//! A declared method builds its request when called: its future holds the request, not
//! the arguments, so an argument that is not `Sync` (or `Send`) still gives a future that
//! can be spawned, for plain and paginated endpoints alike.

use std::cell::Cell;

use oauth2_api::{oauth2_api, ApiUser, Error, UserRef};

pub struct Company;
impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

/// A query value that is neither `Sync` nor `Send`.
#[derive(serde::Serialize)]
pub struct Counter {
    pub seen: Cell<u32>,
    #[serde(skip)]
    pub not_send: std::marker::PhantomData<*const ()>,
}

#[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Shop {
    #[endpoint(method = GET, path = "/orders", user = Company)]
    async fn orders(&self, #[query] counter: &Counter) -> Result<Vec<u32>, Error>;

    #[endpoint(method = GET, path = "/items", user = Company, paginate(page = "page"))]
    async fn items(&self, #[query] counter: &Counter) -> Result<Vec<u32>, Error>;
}

fn is_send<F: std::future::Future + Send>(future: F) -> F {
    future
}

#[allow(dead_code)]
fn futures(client: &ShopClient) {
    let counter = Counter { seen: Cell::new(1), not_send: std::marker::PhantomData };
    let orders = is_send(client.orders(&Company, &counter));
    let items = is_send(client.items(&Company, &counter));
    drop((orders, items));
}

fn main() {}
