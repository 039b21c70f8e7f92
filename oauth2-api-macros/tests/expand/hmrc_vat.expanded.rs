pub trait HmrcVat {
    /// The VAT obligations.
    fn obligations(
        &self,
        user: &Company,
        vrn: &str,
        from: NaiveDate,
        only: Option<Status>,
    ) -> impl ::core::future::Future<
        Output = Result<Obligations, Error>,
    > + ::core::marker::Send;
    fn hello(
        &self,
        scenario: &str,
        body: &Message,
    ) -> impl ::core::future::Future<Output = Result<(), Error>> + ::core::marker::Send;
}
///The environments of the `HMRC` provider.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HmrcVatEnv {
    ///The `default` environment.
    Default,
}
#[automatically_derived]
impl HmrcVatEnv {
    /// Every environment, the default first.
    pub const ALL: &'static [Self] = &[Self::Default];
    /// The environment's name, as the runtime and the store know it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
        }
    }
}
/// The name, so that the runtime builder takes the variant where it takes a name.
#[automatically_derived]
impl ::core::convert::AsRef<str> for HmrcVatEnv {
    fn as_ref(&self) -> &str {
        self.name()
    }
}
///A user type of [`HmrcVat`], with the scopes its endpoints need. Implemented for each `user = ...` of the declaration (which must also implement `ApiUser`).
pub trait HmrcVatUser: ::core::marker::Sync {
    /// Every scope the endpoints of this user type need.
    const SCOPES: &'static [&'static str];
}
#[automatically_derived]
impl HmrcVatUser for Company {
    const SCOPES: &'static [&'static str] = &["read:vat"];
}
/**The client of [`HmrcVat`]: one method per endpoint, and the session operations of its users.

Build it from a runtime configured with [`HmrcVatClient::builder`].*/
#[derive(Clone, Debug)]
pub struct HmrcVatClient {
    runtime: ::oauth2_api::Runtime,
}
#[automatically_derived]
impl HmrcVatClient {
    /// The provider as declared: its name, environments and conventions.
    pub fn provider() -> ::oauth2_api::Provider {
        ::oauth2_api::Provider::new("HMRC")
            .environment(
                ::oauth2_api::Environment::new(
                    "default",
                    "https://api.example.com",
                    "https://www.example.com/oauth/authorize",
                    "https://api.example.com/oauth/token",
                ),
            )
            .header("Accept", "application/vnd.hmrc.1.0+json")
    }
    /// Starts configuring a runtime for this provider (credentials, store, URL overrides).
    pub fn builder() -> ::oauth2_api::RuntimeBuilder {
        ::oauth2_api::Runtime::builder(Self::provider())
    }
    /// A client on `runtime`, which must be configured for this provider.
    pub fn new(runtime: ::oauth2_api::Runtime) -> Self {
        Self { runtime }
    }
    /// This client with `context` for its calls' request hooks (an end user's IP
    /// address for fraud-prevention headers, a test scenario).
    pub fn with_context(&self, context: ::oauth2_api::CallContext) -> Self {
        Self {
            runtime: self.runtime.with_context(context),
        }
    }
    /// The runtime: sessions, the escape hatch, authorization completion.
    pub fn runtime(&self) -> &::oauth2_api::Runtime {
        &self.runtime
    }
    /// Chooses the environment `user` works in.
    pub async fn select_environment(
        &self,
        user: &(impl HmrcVatUser + ::oauth2_api::ApiUser),
        environment: HmrcVatEnv,
    ) -> ::core::result::Result<(), ::oauth2_api::Error> {
        self.runtime.select_environment(user, environment.name()).await
    }
    /// Begins authorizing `user` for every scope its endpoints need; send the person
    /// to the returned URL.
    pub async fn begin_authorization<U: HmrcVatUser + ::oauth2_api::ApiUser>(
        &self,
        user: &U,
        return_to: ::core::option::Option<&str>,
    ) -> ::core::result::Result<
        ::oauth2_api::AuthorizationRequest,
        ::oauth2_api::Error,
    > {
        self.runtime.begin_authorization(user, U::SCOPES, return_to).await
    }
    /// Whether `user` holds a grant covering every scope its endpoints need.
    pub async fn is_authorized<U: HmrcVatUser + ::oauth2_api::ApiUser>(
        &self,
        user: &U,
    ) -> ::core::result::Result<bool, ::oauth2_api::Error> {
        self.runtime.is_authorized(user, U::SCOPES).await
    }
    /// Revokes `user`'s grant at the provider and forgets its session.
    pub async fn disconnect(
        &self,
        user: &(impl HmrcVatUser + ::oauth2_api::ApiUser),
    ) -> ::core::result::Result<(), ::oauth2_api::Error> {
        self.runtime.disconnect(user).await
    }
    /// Why `user`'s session last failed, if it did.
    pub async fn last_error(
        &self,
        user: &(impl HmrcVatUser + ::oauth2_api::ApiUser),
    ) -> ::core::result::Result<
        ::core::option::Option<::oauth2_api::LastError>,
        ::oauth2_api::Error,
    > {
        self.runtime.last_error(user).await
    }
    /// The VAT obligations.
    #[allow(clippy::too_many_arguments, reason = "as declared")]
    pub fn obligations(
        &self,
        user: &Company,
        vrn: &str,
        from: NaiveDate,
        only: Option<Status>,
    ) -> impl ::core::future::Future<
        Output = Result<Obligations, Error>,
    > + ::core::marker::Send + '_ {
        static __ENDPOINT: ::oauth2_api::__private::Endpoint = ::oauth2_api::__private::Endpoint {
            name: "obligations",
            method: ::oauth2_api::Method::Get,
            scopes: ::oauth2_api::__private::ScopeSet::declared(&["read:vat"]),
            authorize_scopes: ::oauth2_api::__private::ScopeSet::declared(
                <Company as HmrcVatUser>::SCOPES,
            ),
            headers: &[],
            base_url: ::core::option::Option::None,
        };
        let mut __request = ::oauth2_api::__private::Request::new(&__ENDPOINT);
        #[allow(unused_imports)]
        use ::oauth2_api::__private::{PickSerde as _, PickText as _};
        __request.path("/organisations/vat/");
        (&::oauth2_api::__private::Arg(&vrn))
            .__oauth2_api_pick()
            .path_param(&mut __request, "vrn", &vrn);
        __request.path("/obligations");
        (&::oauth2_api::__private::Arg(&from))
            .__oauth2_api_pick()
            .query(&mut __request, "from", "from", &from);
        (&::oauth2_api::__private::Arg(&only))
            .__oauth2_api_pick()
            .query(&mut __request, "only", "status", &only);
        ::oauth2_api::__private::call(
            &self.runtime,
            ::oauth2_api::ApiUser::user_ref(user),
            __request,
            <Obligations as ::oauth2_api::FromAnswer>::from_answer,
            <Error as ::core::convert::From<::oauth2_api::Error>>::from,
        )
    }
    #[allow(clippy::too_many_arguments, reason = "as declared")]
    pub fn hello(
        &self,
        scenario: &str,
        body: &Message,
    ) -> impl ::core::future::Future<
        Output = Result<(), Error>,
    > + ::core::marker::Send + '_ {
        static __ENDPOINT: ::oauth2_api::__private::Endpoint = ::oauth2_api::__private::Endpoint {
            name: "hello",
            method: ::oauth2_api::Method::Post,
            scopes: ::oauth2_api::__private::ScopeSet::declared(&["hello"]),
            authorize_scopes: ::oauth2_api::__private::ScopeSet::declared(&["hello"]),
            headers: &[],
            base_url: ::core::option::Option::None,
        };
        let mut __request = ::oauth2_api::__private::Request::new(&__ENDPOINT);
        #[allow(unused_imports)]
        use ::oauth2_api::__private::{PickSerde as _, PickText as _};
        __request.path("/hello/application");
        __request.header("scenario", "Gov-Test-Scenario", &scenario);
        __request.body("body", &body);
        ::oauth2_api::__private::call(
            &self.runtime,
            ::oauth2_api::UserRef::application(),
            __request,
            <() as ::oauth2_api::FromAnswer>::from_answer,
            <Error as ::core::convert::From<::oauth2_api::Error>>::from,
        )
    }
}
#[automatically_derived]
impl HmrcVat for HmrcVatClient {
    #[allow(clippy::too_many_arguments, reason = "as declared")]
    fn obligations(
        &self,
        user: &Company,
        vrn: &str,
        from: NaiveDate,
        only: Option<Status>,
    ) -> impl ::core::future::Future<
        Output = Result<Obligations, Error>,
    > + ::core::marker::Send {
        HmrcVatClient::obligations(self, user, vrn, from, only)
    }
    #[allow(clippy::too_many_arguments, reason = "as declared")]
    fn hello(
        &self,
        scenario: &str,
        body: &Message,
    ) -> impl ::core::future::Future<Output = Result<(), Error>> + ::core::marker::Send {
        HmrcVatClient::hello(self, scenario, body)
    }
}
