//! The User schema this server keeps (RFC 7643 section 4.1 and the enterprise extension of section 4.3), as one
//! table: it is published at /Schemas and drives validation, PATCH, filters and attribute projection.
//!
//! Provisio declares the subset of the standard User it uses or returns faithfully. Standard attributes it does
//! not keep (phone numbers, photos, passwords...) are accepted and ignored, so identity providers with default
//! attribute mappings keep working; see [`IGNORED`].

use serde_json::{Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Most resources one list response carries (`filter.maxResults`), and the default page size.
pub const MAX_RESULTS: usize = 200;
pub const DEFAULT_COUNT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
}

/// One attribute (or sub-attribute) of a schema.
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    /// `uniqueness: server` (userName).
    pub unique: bool,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const fn string(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        ty: Type::String,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        canonical: &[],
        reference_types: &[],
        sub: &[],
        description,
    }
}

const fn with_canonical(mut attr: Attr, canonical: &'static [&'static str]) -> Attr {
    attr.canonical = canonical;
    attr
}

const fn reference(
    name: &'static str,
    types: &'static [&'static str],
    description: &'static str,
) -> Attr {
    let mut attr = string(name, description);
    attr.ty = Type::Reference;
    attr.case_exact = true;
    attr.reference_types = types;
    attr
}

const fn boolean(name: &'static str, description: &'static str) -> Attr {
    let mut attr = string(name, description);
    attr.ty = Type::Boolean;
    attr
}

const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    let mut attr = string(name, description);
    attr.ty = Type::Complex;
    attr.sub = sub;
    attr
}

const fn multi(mut attr: Attr) -> Attr {
    attr.multi = true;
    attr
}

const NAME: &[Attr] = &[
    string("formatted", "The full name, formatted for display."),
    string("familyName", "The family name."),
    string("givenName", "The given name."),
    string("middleName", "The middle name(s)."),
    string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const EMAIL: &[Attr] = &[
    string(
        "value",
        "The email address. The primary one (else the work one, else the first) becomes the identity's email.",
    ),
    string("display", "A human-readable name."),
    with_canonical(
        string("type", "A label: work, home, other."),
        &["work", "home", "other"],
    ),
    boolean(
        "primary",
        "Whether this is the preferred address; true at most once.",
    ),
];

/// Only the parts of an address Provisio uses: the country becomes the identity's location.
const ADDRESS: &[Attr] = &[
    string("locality", "The city or locality."),
    string("region", "The state or region."),
    string(
        "country",
        "The country (ISO 3166-1 alpha-2). That of the primary address (else the work one, else the first) becomes the identity's location.",
    ),
    with_canonical(
        string("type", "A label: work, home, other."),
        &["work", "home", "other"],
    ),
    boolean(
        "primary",
        "Whether this is the preferred address; true at most once.",
    ),
];

/// The core User attributes kept, besides `id`, `externalId` and `meta`, which every resource has.
pub const USER_ATTRS: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..string(
            "userName",
            "Unique identifier of the User at the identity provider, compared case-insensitively.",
        )
    },
    complex("name", NAME, "The components of the User's name."),
    string(
        "displayName",
        "The name to display; becomes the identity's display name (else name.formatted, else given and family name).",
    ),
    string("nickName", "The casual name of the User."),
    reference(
        "profileUrl",
        &["external"],
        "A URI of an online profile of the User.",
    ),
    string("title", "The job title; the identity's jobTitle."),
    string(
        "userType",
        "The relation to the organization; 'Contractor' makes the identity a contractor, anything else an employee (FTE).",
    ),
    string(
        "preferredLanguage",
        "The preferred written or spoken language.",
    ),
    string("locale", "The default location for localization."),
    string("timezone", "The time zone, in IANA format."),
    boolean(
        "active",
        "The administrative status. false makes the identity a leaver (terminated, access revoked); true on a leaver rehires.",
    ),
    multi(complex("emails", EMAIL, "Email addresses.")),
    multi(complex(
        "addresses",
        ADDRESS,
        "Physical mailing addresses (locality, region and country only).",
    )),
];

const MANAGER: &[Attr] = &[
    string(
        "value",
        "The id of the manager's User; the identity's managerId.",
    ),
    reference("$ref", &["User"], "The URI of the manager's User."),
];

pub const ENTERPRISE_ATTRS: &[Attr] = &[
    string(
        "employeeNumber",
        "The employee number. On creation it becomes the User's id (and the identity's employeeId) when it is URL-safe.",
    ),
    string("costCenter", "The cost center; the identity's costCenter."),
    string("organization", "The organization."),
    string("division", "The division."),
    string("department", "The department; the identity's department."),
    complex("manager", MANAGER, "The User's manager."),
];

/// Standard User attributes (RFC 7643 section 4.1) this server does not keep: accepted and ignored, so default
/// identity provider mappings do not fail. Anything else unknown in a PATCH path is `invalidPath`.
pub const IGNORED: &[&str] = &[
    "password",
    "phoneNumbers",
    "ims",
    "photos",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// Which part of a User an attribute lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    User,
    Enterprise,
}

impl Schema {
    pub fn urn(self) -> &'static str {
        match self {
            Schema::User => USER,
            Schema::Enterprise => ENTERPRISE,
        }
    }

    pub fn attrs(self) -> &'static [Attr] {
        match self {
            Schema::User => USER_ATTRS,
            Schema::Enterprise => ENTERPRISE_ATTRS,
        }
    }

    /// The schema a URN names, compared case-insensitively.
    pub fn from_urn(urn: &str) -> Option<Schema> {
        [Schema::User, Schema::Enterprise]
            .into_iter()
            .find(|s| s.urn().eq_ignore_ascii_case(urn))
    }
}

pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn attr_json(attr: &Attr) -> Value {
    let ty = match attr.ty {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::DateTime => "dateTime",
        Type::Reference => "reference",
        Type::Complex => "complex",
    };
    let mut out = json!({
        "name": attr.name,
        "type": ty,
        "multiValued": attr.multi,
        "description": attr.description,
        "required": attr.required,
        "caseExact": attr.case_exact,
        "mutability": match attr.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::ReadOnly => "readOnly",
        },
        "returned": "default",
        "uniqueness": if attr.unique { "server" } else { "none" },
    });
    if !attr.canonical.is_empty() {
        out["canonicalValues"] = json!(attr.canonical);
    }
    if !attr.reference_types.is_empty() {
        out["referenceTypes"] = json!(attr.reference_types);
    }
    if !attr.sub.is_empty() {
        out["subAttributes"] = attr.sub.iter().map(attr_json).collect();
    }
    out
}

/// The Schema resource (RFC 7643 section 7) of `schema`.
pub fn schema_resource(schema: Schema, base: &str) -> Value {
    let (name, description) = match schema {
        Schema::User => ("User", "User Account"),
        Schema::Enterprise => ("EnterpriseUser", "Enterprise User"),
    };
    json!({
        "schemas": [SCHEMA],
        "id": schema.urn(),
        "name": name,
        "description": description,
        "attributes": schema.attrs().iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{}", schema.urn()),
        },
    })
}

pub fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account: an employee Provisio provisions access for",
        "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/User"),
        },
    })
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A static bearer token shared with the identity provider (PROVISIO_SCIM_TOKEN)",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}
