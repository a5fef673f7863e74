//! The printer's status over SNMP, for network printers that do not answer `ESC i S` on port 9100
//! (the QL-820NWB): Brother's private OID 1.3.6.1.4.1.2435.3.3.9.1.6.1.0 holds the same 32-byte
//! status reply. One SNMPv1 GET with community `public` (Brother's default), encoded and decoded
//! here in BER as data: a single request of a single OID does not justify an SNMP library and its
//! ASN.1 dependency tree. The UDP exchange is a thin function on top.
//!
//! May call: nothing else of the crate.

use std::time::Duration;

/// 1.3.6.1.4.1.2435.3.3.9.1.6.1.0, BER-encoded (2435 = 0x93 0x03 in base 128).
pub const STATUS_OID: [u8; 14] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x93, 0x03, 0x03, 0x03, 0x09, 0x01, 0x06, 0x01, 0x00];
pub const COMMUNITY: &[u8] = b"public";
pub(crate) const PORT: u16 = 161;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SnmpError {
    #[error("malformed SNMP response")]
    Malformed,
    #[error("the SNMP agent answered error status {0}")]
    Agent(i64),
    #[error("the SNMP response answers another request or OID")]
    Mismatch,
}

/// A BER type-length-value with the given tag.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xFF => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

/// The GetRequest for the status OID.
pub(crate) fn get_request(request_id: i32) -> Vec<u8> {
    let varbind = tlv(0x30, &[tlv(0x06, &STATUS_OID), vec![0x05, 0x00]].concat());
    let pdu = [tlv(0x02, &request_id.to_be_bytes()), tlv(0x02, &[0]), tlv(0x02, &[0]), tlv(0x30, &varbind)].concat();
    tlv(0x30, &[tlv(0x02, &[0]), tlv(0x04, COMMUNITY), tlv(0xA0, &pdu)].concat())
}

/// Reads one TLV at the start of `data`: (tag, value, rest).
fn read_tlv(data: &[u8]) -> Result<(u8, &[u8], &[u8]), SnmpError> {
    let (&tag, rest) = data.split_first().ok_or(SnmpError::Malformed)?;
    let (&first, rest) = rest.split_first().ok_or(SnmpError::Malformed)?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7F) as usize;
        if count == 0 || count > 2 || rest.len() < count {
            return Err(SnmpError::Malformed);
        }
        (rest[..count].iter().fold(0usize, |n, &b| n << 8 | b as usize), &rest[count..])
    };
    if rest.len() < len {
        return Err(SnmpError::Malformed);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn integer(value: &[u8]) -> i64 {
    value.iter().fold(if value.first().is_some_and(|b| b & 0x80 != 0) { -1 } else { 0 }, |n, &b| n << 8 | b as i64)
}

/// Takes the status bytes out of the GetResponse to `request_id`.
pub(crate) fn parse_response(response: &[u8], request_id: i32) -> Result<Vec<u8>, SnmpError> {
    let expect = |tag: u8, data| -> Result<(&[u8], &[u8]), SnmpError> {
        let (t, value, rest) = read_tlv(data)?;
        if t == tag { Ok((value, rest)) } else { Err(SnmpError::Malformed) }
    };
    let (message, _) = expect(0x30, response)?;
    let (_version, rest) = expect(0x02, message)?;
    let (_community, rest) = expect(0x04, rest)?;
    let (pdu, _) = expect(0xA2, rest)?;
    let (id, rest) = expect(0x02, pdu)?;
    let (status, rest) = expect(0x02, rest)?;
    let (_index, rest) = expect(0x02, rest)?;
    if integer(id) != request_id as i64 {
        return Err(SnmpError::Mismatch);
    }
    if integer(status) != 0 {
        return Err(SnmpError::Agent(integer(status)));
    }
    let (varbinds, _) = expect(0x30, rest)?;
    let (varbind, _) = expect(0x30, varbinds)?;
    let (oid, rest) = expect(0x06, varbind)?;
    if oid != STATUS_OID {
        return Err(SnmpError::Mismatch);
    }
    let (value, _) = expect(0x04, rest)?;
    Ok(value.to_vec())
}

/// Asks `host:port` for the status bytes; `None` when nothing (valid) answers within `timeout`.
pub(crate) async fn query_status(host: &str, port: u16, timeout: Duration) -> Option<Vec<u8>> {
    let exchange = async {
        let socket = tokio::net::UdpSocket::bind(("0.0.0.0", 0)).await.ok()?;
        socket.connect((host, port)).await.ok()?;
        let request_id = rand::random::<i32>() & 0x7FFF_FFFF;
        socket.send(&get_request(request_id)).await.ok()?;
        let mut buffer = [0u8; 1500];
        loop {
            let n = socket.recv(&mut buffer).await.ok()?;
            if let Ok(status) = parse_response(&buffer[..n], request_id) {
                return Some(status);
            }
        }
    };
    tokio::time::timeout(timeout, exchange).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GetResponse as a Brother agent sends it.
    fn response(request_id: i32, error_status: u8, value: &[u8]) -> Vec<u8> {
        let varbind = tlv(0x30, &[tlv(0x06, &STATUS_OID), tlv(0x04, value)].concat());
        let pdu =
            [tlv(0x02, &request_id.to_be_bytes()), tlv(0x02, &[error_status]), tlv(0x02, &[0]), tlv(0x30, &varbind)]
                .concat();
        tlv(0x30, &[tlv(0x02, &[0]), tlv(0x04, COMMUNITY), tlv(0xA2, &pdu)].concat())
    }

    #[test]
    fn the_get_request_is_the_documented_ber() {
        let request = get_request(0x0102_0304);
        let expected: Vec<u8> = [
            &[0x30, 0x2F, 0x02, 0x01, 0x00, 0x04, 0x06][..],
            b"public",
            &[0xA0, 0x22, 0x02, 0x04, 0x01, 0x02, 0x03, 0x04, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
            &[0x30, 0x14, 0x30, 0x12, 0x06, 0x0E],
            &STATUS_OID,
            &[0x05, 0x00],
        ]
        .concat();
        assert_eq!(request, expected);
    }

    #[test]
    fn the_status_comes_out_of_the_response() {
        let status =
            crate::labels::status::encode_status(brother_ql::status::ErrorFlags::NoMediaError, 54, 0x0A, 2, false);
        assert_eq!(parse_response(&response(7, 0, &status), 7).unwrap(), status);
        assert_eq!(parse_response(&response(7, 0, &status), 8), Err(SnmpError::Mismatch));
        assert_eq!(parse_response(&response(7, 2, &status), 7), Err(SnmpError::Agent(2)));
        assert_eq!(parse_response(&response(7, 0, &status)[..20], 7), Err(SnmpError::Malformed));
        assert_eq!(integer(&[0xFF, 0xFE]), -2);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
    }
}
