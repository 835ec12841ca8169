//! A CloudTrail record as the rules see it: parsed once, borrowing from the
//! input, with only the fields rules read decoded. The nested documents
//! (`requestParameters`, `responseElements`, ...) stay raw until a rule asks
//! for them, and any other field is reached through [`Record::field`], which
//! decodes the whole record at most once.

use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use time::OffsetDateTime;

/// Text borrowed from the input where it has no escapes. (serde's own
/// `Cow<str>` always copies when wrapped in an `Option`, which made every
/// field of every record an allocation.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

type Text<'a> = Option<Str<'a>>;

/// The session a role's temporary credentials belong to.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issuer<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow)]
    pub account_id: Text<'a>,
    #[serde(borrow)]
    pub user_name: Text<'a>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow)]
    pub session_issuer: Option<Issuer<'a>>,
    #[serde(borrow)]
    pub ec2_role_delivery: Text<'a>,
}

/// `userIdentity`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow)]
    pub account_id: Text<'a>,
    #[serde(borrow)]
    pub access_key_id: Text<'a>,
    #[serde(borrow)]
    pub user_name: Text<'a>,
    #[serde(borrow)]
    pub invoked_by: Text<'a>,
    #[serde(borrow)]
    pub session_context: Option<SessionContext<'a>>,
}

/// The fields of a record the engine decodes up front.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow)]
    event_time: Text<'a>,
    #[serde(borrow)]
    event_source: Text<'a>,
    #[serde(borrow)]
    event_name: Text<'a>,
    #[serde(borrow)]
    aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Text<'a>,
    #[serde(borrow)]
    user_agent: Text<'a>,
    #[serde(borrow)]
    error_code: Text<'a>,
    #[serde(borrow, rename = "eventID")]
    event_id: Text<'a>,
    #[serde(borrow)]
    event_type: Text<'a>,
    #[serde(borrow)]
    recipient_account_id: Text<'a>,
    #[serde(borrow, default)]
    user_identity: Identity<'a>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow)]
    additional_event_data: Option<&'a RawValue>,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord(pub String);

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One CloudTrail record.
#[derive(Debug)]
pub struct Record<'a> {
    text: &'a str,
    f: Fields<'a>,
    time: OffsetDateTime,
    whole: OnceCell<Json>,
    request: OnceCell<Json>,
    response: OnceCell<Json>,
    additional: OnceCell<Json>,
    /// Set when a nested document could not be decoded (nested deeper than
    /// the decoder goes): rules may have judged it on missing fields, so
    /// the engine drops what they said and the record is reported instead.
    damaged: std::cell::Cell<bool>,
}

/// A field's value, as [`Record::field`] finds it.
#[derive(Debug, Clone, Copy)]
pub enum Field<'r> {
    /// Absent, or JSON `null`.
    Missing,
    Str(&'r str),
    Json(&'r Json),
}

fn text<'r>(t: &'r Text<'_>) -> &'r str {
    t.as_deref().unwrap_or_default()
}

impl<'a> Record<'a> {
    /// Reads one record (a JSON object) that is the whole text.
    pub fn parse(text: &'a str) -> Result<Self, BadRecord> {
        let (record, len) = Self::parse_first(text);
        let r = record?;
        let rest = text.get(len.unwrap_or(0)..).unwrap_or_default();
        if !rest.trim_ascii().is_empty() {
            return Err(BadRecord("text follows the record".into()));
        }
        Ok(r)
    }

    /// Reads the record at the start of `text` (which may run on past it,
    /// as in a CloudTrail file's array), in one pass. Returns the record, and
    /// its length when the text held a JSON value there (so a caller can step
    /// over a bad record). A record without `eventName` and `eventSource`, or
    /// with an `eventTime` that is not ISO 8601, is refused: nothing can be
    /// said of it.
    pub fn parse_first(text: &'a str) -> (Result<Self, BadRecord>, Option<usize>) {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Fields<'a>>();
        let f = match stream.next() {
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                // serde's own text may quote the input; say only what and where.
                let what = match e.classify() {
                    serde_json::error::Category::Io | serde_json::error::Category::Syntax => {
                        "not JSON"
                    }
                    serde_json::error::Category::Data => "a field of the wrong type",
                    serde_json::error::Category::Eof => "JSON that ends early",
                };
                let bad = BadRecord(format!(
                    "not a CloudTrail record: {what} at column {}",
                    e.column()
                ));
                return (Err(bad), None);
            }
            None => return (Err(BadRecord("no record".into())), None),
        };
        let len = stream.byte_offset();
        let text = text.get(..len).unwrap_or(text);
        (Self::from_fields(text, f), Some(len))
    }

    fn from_fields(text: &'a str, f: Fields<'a>) -> Result<Self, BadRecord> {
        if f.event_name.is_none() || f.event_source.is_none() {
            return Err(BadRecord(
                "the record has no eventName or eventSource".into(),
            ));
        }
        let time = f
            .event_time
            .as_deref()
            .and_then(trailguard_model::clock::parse_iso8601)
            .ok_or_else(|| BadRecord("the record's eventTime is missing or not ISO 8601".into()))?;
        Ok(Self {
            text,
            f,
            time,
            whole: OnceCell::new(),
            request: OnceCell::new(),
            response: OnceCell::new(),
            additional: OnceCell::new(),
            damaged: std::cell::Cell::new(false),
        })
    }

    /// The record's own text.
    pub fn text(&self) -> &'a str {
        self.text
    }
    pub fn time(&self) -> OffsetDateTime {
        self.time
    }
    pub fn event_time(&self) -> &str {
        text(&self.f.event_time)
    }
    pub fn event_source(&self) -> &str {
        text(&self.f.event_source)
    }
    pub fn event_name(&self) -> &str {
        text(&self.f.event_name)
    }
    pub fn region(&self) -> &str {
        text(&self.f.aws_region)
    }
    pub fn source_ip(&self) -> &str {
        text(&self.f.source_ip_address)
    }
    pub fn user_agent(&self) -> &str {
        text(&self.f.user_agent)
    }
    /// `None` for a call that succeeded.
    pub fn error_code(&self) -> Option<&str> {
        self.f.error_code.as_deref()
    }
    pub fn event_id(&self) -> &str {
        text(&self.f.event_id)
    }
    pub fn event_type(&self) -> &str {
        text(&self.f.event_type)
    }
    pub fn account(&self) -> &str {
        text(&self.f.recipient_account_id)
    }
    pub fn identity(&self) -> &Identity<'a> {
        &self.f.user_identity
    }
    pub fn identity_type(&self) -> &str {
        text(&self.f.user_identity.kind)
    }

    /// A call an AWS service made, as itself or for a customer.
    pub fn by_service(&self) -> bool {
        self.identity_type() == "AWSService" || self.f.user_identity.invoked_by.is_some()
    }

    /// Who acted, for aggregating: the role of an assumed-role session (each
    /// session has keys of its own), otherwise the identity's ARN.
    pub fn principal(&self) -> &str {
        let id = &self.f.user_identity;
        id.session_context
            .as_ref()
            .and_then(|s| s.session_issuer.as_ref())
            .and_then(|i| i.arn.as_deref())
            .or(id.arn.as_deref())
            .unwrap_or_default()
    }

    /// The user a finding names: `Root`, the role of an assumed-role session,
    /// or the user.
    pub fn user_name(&self) -> &str {
        let id = &self.f.user_identity;
        match self.identity_type() {
            "Root" => "Root",
            "AssumedRole" => id
                .session_context
                .as_ref()
                .and_then(|s| s.session_issuer.as_ref())
                .map(|i| text(&i.user_name))
                .unwrap_or_default(),
            _ => text(&id.user_name),
        }
    }

    /// `requestParameters`, decoded on first use (`Null` when absent).
    pub fn request(&self) -> &Json {
        self.decode(&self.request, self.f.request_parameters.map(RawValue::get))
    }
    /// `responseElements`, decoded on first use.
    pub fn response(&self) -> &Json {
        self.decode(&self.response, self.f.response_elements.map(RawValue::get))
    }
    /// `additionalEventData`, decoded on first use.
    pub fn additional(&self) -> &Json {
        self.decode(
            &self.additional,
            self.f.additional_event_data.map(RawValue::get),
        )
    }

    /// The whole record as a document, decoded on first use.
    pub fn whole(&self) -> &Json {
        self.decode(&self.whole, Some(self.text))
    }

    /// Whether a nested document could not be decoded.
    pub fn damaged(&self) -> bool {
        self.damaged.get()
    }

    fn decode<'r>(&self, cell: &'r OnceCell<Json>, raw: Option<&str>) -> &'r Json {
        cell.get_or_init(|| match raw {
            None => Json::Null,
            Some(text) => serde_json::from_str(text).unwrap_or_else(|_| {
                self.damaged.set(true);
                Json::Null
            }),
        })
    }

    /// Any field by its dotted path, as Sigma names them
    /// (`userIdentity.sessionContext.sessionIssuer.type`).
    pub fn field(&self, path: &str) -> Field<'_> {
        fn direct<'r>(t: &'r Text<'_>) -> Option<Field<'r>> {
            Some(t.as_deref().map_or(Field::Missing, Field::Str))
        }
        let id = &self.f.user_identity;
        let fast = match path {
            "eventSource" => direct(&self.f.event_source),
            "eventName" => direct(&self.f.event_name),
            "awsRegion" => direct(&self.f.aws_region),
            "sourceIPAddress" => direct(&self.f.source_ip_address),
            "userAgent" => direct(&self.f.user_agent),
            "errorCode" => direct(&self.f.error_code),
            "eventID" => direct(&self.f.event_id),
            "eventType" => direct(&self.f.event_type),
            "eventTime" => direct(&self.f.event_time),
            "recipientAccountId" => direct(&self.f.recipient_account_id),
            "userIdentity.type" => direct(&id.kind),
            "userIdentity.arn" => direct(&id.arn),
            "userIdentity.accountId" => direct(&id.account_id),
            "userIdentity.userName" => direct(&id.user_name),
            "userIdentity.principalId" => direct(&id.principal_id),
            "userIdentity.accessKeyId" => direct(&id.access_key_id),
            "userIdentity.invokedBy" => direct(&id.invoked_by),
            _ => match path.strip_prefix("userIdentity.sessionContext.sessionIssuer.") {
                Some(rest) => {
                    let issuer = id
                        .session_context
                        .as_ref()
                        .and_then(|s| s.session_issuer.as_ref());
                    match (issuer, rest) {
                        (None, "type" | "principalId" | "arn" | "accountId" | "userName") => {
                            Some(Field::Missing)
                        }
                        (Some(i), "type") => direct(&i.kind),
                        (Some(i), "principalId") => direct(&i.principal_id),
                        (Some(i), "arn") => direct(&i.arn),
                        (Some(i), "accountId") => direct(&i.account_id),
                        (Some(i), "userName") => direct(&i.user_name),
                        _ => None,
                    }
                }
                None => None,
            },
        };
        if let Some(f) = fast {
            return f;
        }
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        let root = match head {
            "requestParameters" => self.request(),
            "responseElements" => self.response(),
            "additionalEventData" => self.additional(),
            _ => return walk(self.whole(), path),
        };
        if rest.is_empty() {
            return as_field(root);
        }
        walk(root, rest)
    }
}

fn as_field(v: &Json) -> Field<'_> {
    match v {
        Json::Null => Field::Missing,
        Json::String(s) => Field::Str(s),
        other => Field::Json(other),
    }
}

/// Follows a dotted path; a key holding a dot itself is tried whole first.
fn walk<'j>(root: &'j Json, path: &str) -> Field<'j> {
    if let Some(v) = root.get(path) {
        return as_field(v);
    }
    let mut v = root;
    for part in path.split('.') {
        match v.get(part) {
            Some(next) => v = next,
            None => return Field::Missing,
        }
    }
    as_field(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:i-0abc","arn":"arn:aws:sts::111122223333:assumed-role/web/i-0abc","accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","userName":"web","arn":"arn:aws:iam::111122223333:role/web"},"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2026-12-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"b","bucketPolicy":{"Version":"2012-10-17"},"a.b":1},"responseElements":null,"eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

    #[test]
    fn fields_come_from_the_view_and_nested_documents_on_demand() {
        let r = Record::parse(RECORD).unwrap();
        assert_eq!(r.event_name(), "PutBucketPolicy");
        assert_eq!(r.user_name(), "web");
        assert!(matches!(
            r.field("eventSource"),
            Field::Str("s3.amazonaws.com")
        ));
        assert!(matches!(
            r.field("requestParameters.bucketName"),
            Field::Str("b")
        ));
        assert!(matches!(r.field("requestParameters.a.b"), Field::Json(v) if v == 1));
        assert!(matches!(
            r.field("userIdentity.sessionContext.sessionIssuer.type"),
            Field::Str("Role")
        ));
        assert!(matches!(r.field("responseElements"), Field::Missing));
        assert!(matches!(r.field("errorCode"), Field::Missing));
        assert!(matches!(r.field("nothing.here"), Field::Missing));
        assert_eq!(r.time().unix_timestamp(), 1_796_119_200);
    }

    #[test]
    fn a_nested_document_too_deep_to_decode_marks_the_record() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let text = RECORD.replace(r#""a.b":1"#, &format!(r#""a.b":1,"junk":{deep}"#));
        let r = Record::parse(&text).unwrap();
        assert!(!r.damaged());
        assert!(matches!(
            r.field("requestParameters.bucketName"),
            Field::Missing
        ));
        assert!(r.damaged());
    }

    #[test]
    fn records_without_their_core_fields_are_refused() {
        assert!(Record::parse("{}").is_err());
        assert!(Record::parse("[1]").is_err());
        assert!(
            Record::parse(r#"{"eventName":"X","eventSource":"y","eventTime":"yesterday"}"#)
                .is_err()
        );
    }
}
