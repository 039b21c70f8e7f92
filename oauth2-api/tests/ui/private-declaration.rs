// A private declaration makes private items: its environment enum and the client's
// methods cannot be reached from outside its module.
mod payroll {
    use oauth2_api::{oauth2_api, Error};

    #[oauth2_api(provider = "X", base_url = "https://api.example.com", auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
    trait Payroll {
        #[endpoint(method = GET, path = "/hello", user = Application)]
        async fn hello(&self) -> Result<(), Error>;
    }

    #[allow(private_interfaces)]
    pub(super) fn client() -> PayrollClient {
        panic!()
    }
}

#[allow(dead_code)]
async fn outside() {
    let _ = payroll::PayrollEnv::ALL;
    let _ = payroll::client().hello().await;
}

fn main() {}
