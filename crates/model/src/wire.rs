//! How an operation is bound to the wire, declared as data: the restJson1
//! routes a service lists next to its operations (method and path template,
//! query members, headers and payload), and the protocol a service speaks.
//! `trailguard-protocol` decodes and encodes with them; nothing here does IO.

/// The wire protocols AWS services speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Form-encoded requests, XML responses (IAM, STS, Redshift).
    AwsQuery,
    /// JSON in and out, the operation named by `X-Amz-Target: PREFIX.Operation`.
    AwsJson11 { target_prefix: &'static str },
    /// Method and path name the operation, per the service's [`Route`]s.
    RestJson1,
    /// S3's REST/XML.
    RestXmlS3,
}

/// How a bound header's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The text as is (numbers as their decimal form).
    Plain,
    /// JSON, base64-encoded (models' `jsonvalue` headers, such as Lex's slots).
    JsonBase64,
}

/// A member bound to a header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub member: &'static str,
    pub name: &'static str,
    pub codec: Codec,
}

/// Where the body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The members not bound elsewhere, as a JSON object.
    Json,
    /// The raw body is this member (text is given as a string, other bytes as base64).
    Raw(&'static str),
}

/// One operation's HTTP binding.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// `/bots/{name}/versions/$LATEST`: literal segments and `{member}` labels.
    pub path: &'static str,
    pub operation: &'static str,
    /// The success status.
    pub status: u16,
    /// `(query parameter, member)`.
    pub query: &'static [(&'static str, &'static str)],
    pub headers: &'static [Header],
    pub payload: Payload,
    pub out_headers: &'static [Header],
    pub out_payload: Payload,
    /// The model's `v4-unsigned-body`: the signature may leave the body out.
    pub unsigned_body: bool,
}

impl Route {
    pub const fn json(method: &'static str, path: &'static str, operation: &'static str) -> Self {
        Self {
            method,
            path,
            operation,
            status: 200,
            query: &[],
            headers: &[],
            payload: Payload::Json,
            out_headers: &[],
            out_payload: Payload::Json,
            unsigned_body: false,
        }
    }

    pub const fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub const fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Self {
        self.query = query;
        self
    }
}

pub const fn h(member: &'static str, name: &'static str) -> Header {
    Header {
        member,
        name,
        codec: Codec::Plain,
    }
}

pub const fn hj(member: &'static str, name: &'static str) -> Header {
    Header {
        member,
        name,
        codec: Codec::JsonBase64,
    }
}
