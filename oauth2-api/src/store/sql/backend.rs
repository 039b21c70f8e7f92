//! What the SQL store needs from a database driver, in two traits.
//!
//! [`Dialect`] is written by hand for each backend (`sqlite.rs`, `postgres.rs`): the few
//! things that differ between SQLite and PostgreSQL. [`Backend`] is everything else the
//! store does with sqlx, implemented once for every driver that sqlx lets do it.
//!
//! The split keeps sqlx's generic bounds in one place. A bound on a trait that is not a
//! supertrait, such as `for<'c> &'c mut DB::Connection: Executor<'c>`, is not implied
//! where the trait is used: it would have to be repeated on every generic function of
//! the store. Here such bounds sit on the one blanket impl of [`Backend`], and generic
//! code sees only methods whose signatures name no sqlx trait but [`Database`]'s types.

use std::borrow::Cow;
use std::future::Future;

use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type};

use crate::session::SessionKey;
use crate::store::StoreError;

/// What differs between the SQL backends.
pub(crate) trait Dialect: Database {
    /// The column type of 64-bit integers in the schema (see `schema.rs`).
    const INTEGER: &'static str;

    /// How many rows a statement changed (each driver has its own result type).
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Begins the transaction that migrates the schema, holding a lock that keeps other
    /// processes from migrating at the same time.
    fn begin_migration(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send + '_;
}

/// The statements of the SQL store, run on one connection, and the columns of their rows.
///
/// Implemented for every [`Dialect`] whose sqlx driver binds and reads the store's value
/// types: text and 64-bit integers, each possibly NULL.
pub(crate) trait Backend: Dialect {
    /// `sql` with `params` bound to its `$1`, `$2`, ... A value that is present is encoded
    /// exactly as the bare value (sqlx gives `Option<T>` the type of `T`), so the database
    /// sees the same types as if each were bound on its own.
    fn query(
        sql: &'static str,
        params: Params<'_>,
    ) -> sqlx::query::Query<'static, Self, Self::Arguments>;

    /// Runs `sql` with `params`; returns how many rows it changed.
    fn execute<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;

    /// Runs `sql` with `params`; returns its one row (no row is an error).
    fn fetch_one<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Self::Row, sqlx::Error>> + Send + 'c;

    /// Runs `sql` with `params`; returns its first row, if any.
    fn fetch_optional<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'c;

    /// Runs `sql` with `params`; returns all its rows.
    fn fetch_all<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c;

    /// Runs `script`, several statements without parameters (a schema migration).
    fn execute_script(
        conn: &mut Self::Connection,
        script: String,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_;

    /// The text in `column` of `row`; NULL is an error.
    fn text(row: &Self::Row, column: &str) -> Result<String, sqlx::Error>;

    /// The text in `column` of `row`, if not NULL.
    fn opt_text(row: &Self::Row, column: &str) -> Result<Option<String>, sqlx::Error>;

    /// The integer in `column` of `row`; NULL is an error.
    fn int(row: &Self::Row, column: &str) -> Result<i64, sqlx::Error>;

    /// The integer in `column` of `row`, if not NULL.
    fn opt_int(row: &Self::Row, column: &str) -> Result<Option<i64>, sqlx::Error>;
}

impl<DB> Backend for DB
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'a> &'a str: sqlx::ColumnIndex<DB::Row>,
{
    fn query(
        sql: &'static str,
        params: Params<'_>,
    ) -> sqlx::query::Query<'static, DB, DB::Arguments> {
        params
            .0
            .into_iter()
            .fold(sqlx::query(sql), |query, param| match param {
                Param::Text(text) => query.bind(text.as_deref()),
                Param::Int(int) => query.bind(int),
            })
    }

    fn execute<'c>(
        conn: &'c mut DB::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c {
        // The query owns its encoded arguments, so only the connection is borrowed.
        let done = conn.execute(DB::query(sql, params));
        async move { done.await.map(|done| DB::rows_affected(&done)) }
    }

    fn fetch_one<'c>(
        conn: &'c mut DB::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<DB::Row, sqlx::Error>> + Send + 'c {
        conn.fetch_one(DB::query(sql, params))
    }

    fn fetch_optional<'c>(
        conn: &'c mut DB::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'c {
        conn.fetch_optional(DB::query(sql, params))
    }

    fn fetch_all<'c>(
        conn: &'c mut DB::Connection,
        sql: &'static str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'c {
        conn.fetch_all(DB::query(sql, params))
    }

    fn execute_script(
        conn: &mut DB::Connection,
        script: String,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_ {
        // The migrations are this crate's constants, rendered for the dialect.
        let done = conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(script)));
        async move { done.await.map(drop) }
    }

    fn text(row: &DB::Row, column: &str) -> Result<String, sqlx::Error> {
        row.try_get(column)
    }

    fn opt_text(row: &DB::Row, column: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(column)
    }

    fn int(row: &DB::Row, column: &str) -> Result<i64, sqlx::Error> {
        row.try_get(column)
    }

    fn opt_int(row: &DB::Row, column: &str) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(column)
    }
}

/// The values bound to a statement's `$1`, `$2`, ... in order.
///
/// The store binds only text and 64-bit integers, so a value is one of those two, which
/// lets [`Backend`] bind them without a bound per Rust type.
#[derive(Debug, Default)]
pub(crate) struct Params<'a>(Vec<Param<'a>>);

#[derive(Debug)]
enum Param<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
}

impl<'a> Params<'a> {
    /// `$1`..`$4`: the session key's provider, environment, user kind and user id.
    pub(crate) fn key(key: &'a SessionKey) -> Self {
        Self::default()
            .text(&*key.provider)
            .text(&*key.environment)
            .text(key.user.kind())
            .text(key.user.id())
    }

    /// Appends a text.
    pub(crate) fn text(self, value: impl Into<Cow<'a, str>>) -> Self {
        self.opt_text(Some(value))
    }

    /// Appends a text or NULL.
    pub(crate) fn opt_text(mut self, value: Option<impl Into<Cow<'a, str>>>) -> Self {
        self.0.push(Param::Text(value.map(Into::into)));
        self
    }

    /// Appends an integer.
    pub(crate) fn int(self, value: i64) -> Self {
        self.opt_int(Some(value))
    }

    /// Appends an integer or NULL.
    pub(crate) fn opt_int(mut self, value: Option<i64>) -> Self {
        self.0.push(Param::Int(value));
        self
    }
}

/// One row's columns, read by name, a failure reported as an error of `operation`.
pub(crate) struct Columns<'r, DB: Backend> {
    row: &'r DB::Row,
    operation: &'static str,
}

impl<'r, DB: Backend> Columns<'r, DB> {
    /// Reads `row` for `operation`.
    pub(crate) fn new(row: &'r DB::Row, operation: &'static str) -> Self {
        Self { row, operation }
    }

    /// The operation the row is read for.
    pub(crate) fn operation(&self) -> &'static str {
        self.operation
    }

    fn fail(&self, e: sqlx::Error) -> StoreError {
        StoreError::new(self.operation, e)
    }

    /// A text that is never NULL.
    pub(crate) fn text(&self, column: &str) -> Result<String, StoreError> {
        DB::text(self.row, column).map_err(|e| self.fail(e))
    }

    /// A text or NULL.
    pub(crate) fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        DB::opt_text(self.row, column).map_err(|e| self.fail(e))
    }

    /// An integer that is never NULL.
    pub(crate) fn int(&self, column: &str) -> Result<i64, StoreError> {
        DB::int(self.row, column).map_err(|e| self.fail(e))
    }

    /// An integer or NULL.
    pub(crate) fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        DB::opt_int(self.row, column).map_err(|e| self.fail(e))
    }
}
