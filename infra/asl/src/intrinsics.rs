//! Intrinsic functions (`States.Format('{}', $.x)` and friends): parsed once when the
//! definition is loaded, evaluated for every state entry.

use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use sha2::Digest;

use crate::TaskFailure;
use crate::errors::INTRINSIC_FAILURE;
use crate::paths::{Path, Scope};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

const VARIADIC: usize = usize::MAX;

/// Name, function, minimum and maximum argument count.
const FUNCTIONS: [(&str, Func, usize, usize); 18] = [
    ("States.Format", Func::Format, 1, VARIADIC),
    ("States.StringToJson", Func::StringToJson, 1, 1),
    ("States.JsonToString", Func::JsonToString, 1, 1),
    ("States.Array", Func::Array, 0, VARIADIC),
    ("States.ArrayPartition", Func::ArrayPartition, 2, 2),
    ("States.ArrayContains", Func::ArrayContains, 2, 2),
    ("States.ArrayRange", Func::ArrayRange, 3, 3),
    ("States.ArrayGetItem", Func::ArrayGetItem, 2, 2),
    ("States.ArrayLength", Func::ArrayLength, 1, 1),
    ("States.ArrayUnique", Func::ArrayUnique, 1, 1),
    ("States.Base64Encode", Func::Base64Encode, 1, 1),
    ("States.Base64Decode", Func::Base64Decode, 1, 1),
    ("States.Hash", Func::Hash, 2, 2),
    ("States.JsonMerge", Func::JsonMerge, 3, 3),
    ("States.MathRandom", Func::MathRandom, 2, 3),
    ("States.MathAdd", Func::MathAdd, 2, 2),
    ("States.StringSplit", Func::StringSplit, 2, 2),
    ("States.UUID", Func::Uuid, 0, 0),
];

/// Step Functions caps States.ArrayRange results at 1000 items.
const MAX_RANGE_ITEMS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Placeholder,
}

#[derive(Debug, Clone)]
enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    name: &'static str,
    func: Func,
    /// The template of States.Format, whose escaped braces must stay distinguishable from
    /// placeholders, so it is kept apart from the other arguments.
    template: Option<Vec<Piece>>,
    args: Vec<Arg>,
}

impl Call {
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut parser = Parser { text, pos: 0 };
        let call = parser
            .call()
            .map_err(|e| format!("invalid intrinsic function '{text}': {e}"))?;
        parser.skip_whitespace();
        if parser.pos != text.len() {
            return Err(format!(
                "invalid intrinsic function '{text}': unexpected text '{}'",
                &text[parser.pos..]
            ));
        }
        Ok(call)
    }

    pub fn evaluate(&self, scope: Scope<'_>) -> Result<Value, TaskFailure> {
        let args = self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Literal(value) => Ok(value.clone()),
                Arg::Path(path) => path.require(scope, self.name),
                Arg::Call(call) => call.evaluate(scope),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checked = Checked {
            name: self.name,
            args: &args,
        };
        checked.run(self.func, self.template.as_deref().unwrap_or_default())
    }
}

/// Argument values of one evaluation, with type checks that report the function name.
struct Checked<'a> {
    name: &'static str,
    args: &'a [Value],
}

impl Checked<'_> {
    fn fail(&self, message: impl std::fmt::Display) -> TaskFailure {
        TaskFailure::new(INTRINSIC_FAILURE, format!("{}: {message}", self.name))
    }

    fn str(&self, i: usize) -> Result<&str, TaskFailure> {
        self.args[i]
            .as_str()
            .ok_or_else(|| self.fail(format_args!("argument {} must be a string", i + 1)))
    }

    fn array(&self, i: usize) -> Result<&Vec<Value>, TaskFailure> {
        self.args[i]
            .as_array()
            .ok_or_else(|| self.fail(format_args!("argument {} must be an array", i + 1)))
    }

    fn int(&self, i: usize) -> Result<i64, TaskFailure> {
        self.args[i]
            .as_i64()
            .ok_or_else(|| self.fail(format_args!("argument {} must be an integer", i + 1)))
    }

    fn object(&self, i: usize) -> Result<&Map<String, Value>, TaskFailure> {
        self.args[i]
            .as_object()
            .ok_or_else(|| self.fail(format_args!("argument {} must be an object", i + 1)))
    }

    fn run(&self, func: Func, template: &[Piece]) -> Result<Value, TaskFailure> {
        let args = self.args;
        Ok(match func {
            Func::Format => Value::String(self.format(template)?),
            Func::StringToJson => serde_json::from_str(self.str(0)?)
                .map_err(|e| self.fail(format_args!("not valid JSON: {e}")))?,
            Func::JsonToString => Value::String(args[0].to_string()),
            Func::Array => Value::Array(args.to_vec()),
            Func::ArrayPartition => {
                let size = usize::try_from(self.int(1)?)
                    .ok()
                    .filter(|size| *size > 0)
                    .ok_or_else(|| self.fail("chunk size must be a positive integer"))?;
                let chunks = self.array(0)?.chunks(size);
                Value::Array(chunks.map(|c| Value::Array(c.to_vec())).collect())
            }
            Func::ArrayContains => Value::Bool(self.array(0)?.contains(&args[1])),
            Func::ArrayRange => self.range()?,
            Func::ArrayGetItem => {
                let items = self.array(0)?;
                usize::try_from(self.int(1)?)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| self.fail("index out of bounds"))?
            }
            Func::ArrayLength => Value::from(self.array(0)?.len()),
            Func::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in self.array(0)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Value::Array(unique)
            }
            Func::Base64Encode => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(self.str(0)?))
            }
            Func::Base64Decode => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(self.str(0)?)
                    .map_err(|e| self.fail(format_args!("invalid base64: {e}")))?;
                Value::String(
                    String::from_utf8(bytes)
                        .map_err(|_| self.fail("decoded data is not UTF-8 text"))?,
                )
            }
            Func::Hash => Value::String(self.hash()?),
            Func::JsonMerge => {
                if args[2] != Value::Bool(false) {
                    return Err(self.fail("only shallow merges (third argument false) exist"));
                }
                let mut merged = self.object(0)?.clone();
                merged.extend(self.object(1)?.clone());
                Value::Object(merged)
            }
            Func::MathRandom => {
                let (start, end) = (self.int(0)?, self.int(1)?);
                if start > end {
                    return Err(self.fail("start must not be greater than end"));
                }
                let value = match args.get(2) {
                    Some(_) => {
                        let seed = self.int(2)?.unsigned_abs();
                        rand::rngs::StdRng::seed_from_u64(seed).random_range(start..=end)
                    }
                    None => rand::rng().random_range(start..=end),
                };
                Value::from(value)
            }
            Func::MathAdd => {
                let sum = self.int(0)?.checked_add(self.int(1)?);
                Value::from(sum.ok_or_else(|| self.fail("integer overflow"))?)
            }
            Func::StringSplit => {
                let delimiters: Vec<char> = self.str(1)?.chars().collect();
                let parts = self.str(0)?.split(delimiters.as_slice());
                Value::Array(
                    parts
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                )
            }
            Func::Uuid => Value::String(uuid::Uuid::new_v4().to_string()),
        })
    }

    fn format(&self, template: &[Piece]) -> Result<String, TaskFailure> {
        let mut values = self.args.iter();
        let mut out = String::new();
        for piece in template {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder => match values.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        out.push_str(&value.to_string());
                    }
                    Some(_) => {
                        return Err(
                            self.fail("arguments must be strings, numbers, booleans or null")
                        );
                    }
                    // The parser checks placeholder and argument counts match.
                    None => return Err(self.fail("too few arguments for the template")),
                },
            }
        }
        Ok(out)
    }

    fn range(&self) -> Result<Value, TaskFailure> {
        let (start, end, step) = (self.int(0)?, self.int(1)?, self.int(2)?);
        if step == 0 {
            return Err(self.fail("step must not be 0"));
        }
        let in_range = |n: i64| if step > 0 { n <= end } else { n >= end };
        let mut items = Vec::new();
        let mut n = Some(start);
        while let Some(current) = n.filter(|n| in_range(*n)) {
            if items.len() == MAX_RANGE_ITEMS {
                return Err(self.fail("the range has more than 1000 items"));
            }
            items.push(Value::from(current));
            n = current.checked_add(step);
        }
        Ok(Value::Array(items))
    }

    fn hash(&self) -> Result<String, TaskFailure> {
        let data = match &self.args[0] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let digest = match self.str(1)? {
            "SHA-256" => hex::encode(sha2::Sha256::digest(&data)),
            "SHA-384" => hex::encode(sha2::Sha384::digest(&data)),
            "SHA-512" => hex::encode(sha2::Sha512::digest(&data)),
            other => {
                return Err(self.fail(format_args!(
                    "unsupported algorithm '{other}' (supported: SHA-256, SHA-384, SHA-512)"
                )));
            }
        };
        Ok(digest)
    }
}

/// Recursive-descent parser over the call text.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

/// An argument before the enclosing function is known: string literals stay raw so
/// States.Format can tell `\{` from `{`.
enum RawArg<'a> {
    Str(&'a str),
    Parsed(Arg),
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn expect(&mut self, expected: char) -> Result<(), String> {
        self.skip_whitespace();
        if self.peek() == Some(expected) {
            self.pos += expected.len_utf8();
            Ok(())
        } else {
            Err(format!("expected '{expected}' at offset {}", self.pos))
        }
    }

    /// A function name, number or keyword.
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn call(&mut self) -> Result<Call, String> {
        self.skip_whitespace();
        let name = self.word();
        let &(name, func, min, max) = FUNCTIONS
            .iter()
            .find(|(known, ..)| *known == name)
            .ok_or_else(|| format!("unknown function '{name}'"))?;
        self.expect('(')?;
        let mut raw_args = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                raw_args.push(self.arg()?);
                self.skip_whitespace();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' at offset {}", self.pos)),
                }
            }
        }
        if raw_args.len() < min || raw_args.len() > max {
            return Err(format!(
                "{name} takes {min}..={max} arguments, got {}",
                raw_args.len()
            ));
        }
        let mut raw_args = raw_args.into_iter();
        let template = match func {
            Func::Format => match raw_args.next() {
                Some(RawArg::Str(raw)) => Some(format_template(raw)?),
                _ => return Err("States.Format needs a string literal template".into()),
            },
            _ => None,
        };
        let args = raw_args
            .map(|arg| match arg {
                RawArg::Str(raw) => unescape(raw).map(|s| Arg::Literal(Value::String(s))),
                RawArg::Parsed(arg) => Ok(arg),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(template) = &template {
            let placeholders = template
                .iter()
                .filter(|p| **p == Piece::Placeholder)
                .count();
            if placeholders != args.len() {
                return Err(format!(
                    "States.Format template has {placeholders} placeholders but {} arguments",
                    args.len()
                ));
            }
        }
        Ok(Call {
            name,
            func,
            template,
            args,
        })
    }

    fn arg(&mut self) -> Result<RawArg<'a>, String> {
        self.skip_whitespace();
        match self.peek() {
            Some('\'') => self.string_literal().map(RawArg::Str),
            Some('$') => {
                let text = self.path_text();
                Path::parse(text).map(|path| RawArg::Parsed(Arg::Path(path)))
            }
            Some(_) => {
                let start = self.pos;
                let word = self.word();
                self.skip_whitespace();
                if self.peek() == Some('(') {
                    self.pos = start;
                    return self.call().map(|call| RawArg::Parsed(Arg::Call(call)));
                }
                // Numbers, true, false and null are spelled as in JSON.
                serde_json::from_str::<Value>(word)
                    .ok()
                    .filter(|value| !value.is_string() && !word.is_empty())
                    .map(|value| RawArg::Parsed(Arg::Literal(value)))
                    .ok_or_else(|| format!("unexpected argument '{word}' at offset {start}"))
            }
            None => Err("unexpected end of input".into()),
        }
    }

    /// The raw text between single quotes (escapes intact); the cursor moves past the quotes.
    fn string_literal(&mut self) -> Result<&'a str, String> {
        let body = &self.rest()[1..];
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => {
                    self.pos += i + 2;
                    return Ok(&body[..i]);
                }
                _ => {}
            }
        }
        Err("unterminated string literal".into())
    }

    /// A path ends at a top-level ',' or ')' or whitespace; brackets may hold any of those.
    fn path_text(&mut self) -> &'a str {
        let rest = self.rest();
        let mut depth = 0usize;
        let mut quote = None;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match (quote, c) {
                    (Some(q), _) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(c),
                    (None, '[') => depth += 1,
                    (None, ']') => depth = depth.saturating_sub(1),
                    (None, ',' | ')') if depth == 0 => return true,
                    (None, c) if depth == 0 && c.is_whitespace() => return true,
                    _ => {}
                }
                false
            })
            .map_or(rest.len(), |(i, _)| i);
        self.pos += end;
        &rest[..end]
    }
}

/// The characters of a string literal, each flagged whether it was escaped
/// (`\'`, `\{`, `\}` and `\\` are the escapes).
fn literal_chars(raw: &str) -> Result<Vec<(char, bool)>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(escaped @ ('\'' | '{' | '}' | '\\')) => out.push((escaped, true)),
                other => return Err(format!("invalid escape '\\{}'", other.unwrap_or(' '))),
            }
        } else {
            out.push((c, false));
        }
    }
    Ok(out)
}

fn unescape(raw: &str) -> Result<String, String> {
    Ok(literal_chars(raw)?.into_iter().map(|(c, _)| c).collect())
}

fn format_template(raw: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = literal_chars(raw)?.into_iter().peekable();
    while let Some((c, escaped)) = chars.next() {
        match c {
            _ if escaped => text.push(c),
            '{' if chars.peek() == Some(&('}', false)) => {
                chars.next();
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Placeholder);
            }
            '{' | '}' => return Err("unescaped brace in States.Format template".into()),
            other => text.push(other),
        }
    }
    pieces.push(Piece::Text(text));
    Ok(pieces)
}
