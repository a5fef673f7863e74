//! Kubernetes' protobuf encoding, read as far as the simulated API needs it: the envelope
//! (`k8s\0` and a `runtime.Unknown` carrying `apiVersion`, `kind` and the object's bytes) and the
//! protobuf wire format, turned into the object's JSON form by a small description of its
//! fields ([`Message`]). kubectl's typed clients send some requests only this way
//! (`kubectl auth can-i` posts its `SelfSubjectAccessReview` as
//! `application/vnd.kubernetes.protobuf`); answers are always JSON, which they accept.
//!
//! May call: nothing else of the crate.

use serde_json::{Map, Value, json};

/// The media type of Kubernetes' protobuf encoding.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// How one field of a message reads: its number, its JSON name and what it holds.
pub(crate) type Field = (u64, &'static str, Kind);

/// What a field holds (the reviews' fields are strings and messages; others are skipped).
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    String,
    Message(&'static [Field]),
}

/// A message's fields; the numbers the description does not name are skipped, as a protobuf
/// reader skips unknown fields.
pub(crate) type Message = &'static [Field];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ProtobufError {
    #[error("the body is not a Kubernetes protobuf object (no k8s\\0 prefix)")]
    NoEnvelope,
    #[error("truncated or malformed protobuf")]
    Malformed,
}

/// One field as the wire has it.
enum Wire<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(bytes: &mut &[u8]) -> Result<u64, ProtobufError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(ProtobufError::Malformed)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtobufError::Malformed)
}

/// Every field of a message, in wire order.
fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ProtobufError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let value = match key & 7 {
            0 => {
                varint(&mut bytes)?;
                Wire::Varint
            }
            1 | 5 => {
                let width = if key & 7 == 1 { 8 } else { 4 };
                bytes = bytes.get(width..).ok_or(ProtobufError::Malformed)?;
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).map_err(|_| ProtobufError::Malformed)?;
                let (value, rest) = (bytes.get(..len).ok_or(ProtobufError::Malformed)?, &bytes[len..]);
                bytes = rest;
                Wire::Bytes(value)
            }
            _ => return Err(ProtobufError::Malformed),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

/// A message's bytes as its JSON object, by its description.
fn message(bytes: &[u8], description: Message) -> Result<Value, ProtobufError> {
    let mut object = Map::new();
    for (number, wire) in fields(bytes)? {
        let Some((_, name, kind)) = description.iter().find(|(n, _, _)| *n == number) else { continue };
        let value = match (kind, wire) {
            (Kind::String, Wire::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
            (Kind::Message(inner), Wire::Bytes(b)) => message(b, inner)?,
            _ => return Err(ProtobufError::Malformed),
        };
        object.insert((*name).to_string(), value);
    }
    Ok(Value::Object(object))
}

/// `runtime.TypeMeta` inside the envelope.
const TYPE_META: Message = &[(1, "apiVersion", Kind::String), (2, "kind", Kind::String)];

/// Reads an enveloped object: its `apiVersion` and `kind`, and its fields by `description`.
pub(crate) fn decode(body: &[u8], description: Message) -> Result<Value, ProtobufError> {
    let unknown = body.strip_prefix(b"k8s\0").ok_or(ProtobufError::NoEnvelope)?;
    let mut type_meta = json!({});
    let mut raw: &[u8] = &[];
    for (number, wire) in fields(unknown)? {
        match (number, wire) {
            (1, Wire::Bytes(b)) => type_meta = message(b, TYPE_META)?,
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut object = message(raw, description)?;
    for key in ["apiVersion", "kind"] {
        if let Some(value) = type_meta.get(key) {
            object[key] = value.clone();
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn an_enveloped_object_reads_as_its_json() {
        const INNER: Message = &[(1, "namespace", Kind::String), (2, "verb", Kind::String)];
        const OUTER: Message = &[(2, "spec", Kind::Message(INNER))];
        let type_meta = [field(1, b"authorization.k8s.io/v1"), field(2, b"SelfSubjectAccessReview")].concat();
        let spec = [field(1, b"demopod"), field(2, b"delete"), field(9, b"skipped")].concat();
        // Unknown fields of any wire type are skipped: a varint (4) and a fixed64 (5).
        let raw = [field(1, b"metadata"), field(2, &spec), vec![4 << 3, 1], vec![5 << 3 | 1, 0, 0, 0, 0, 0, 0, 0, 0]]
            .concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let object = decode(&body, OUTER).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                   "spec": {"namespace": "demopod", "verb": "delete"}})
        );
        assert_eq!(decode(b"{}", OUTER), Err(ProtobufError::NoEnvelope));
        assert_eq!(decode(&body[..body.len() - 3], OUTER), Err(ProtobufError::Malformed));
    }
}
