//! COM_CHANGE_USER's payload (mysql_common can build one but offers no accessors).

use std::collections::HashMap;

use mysql_common::constants::CapabilityFlags;

use super::response::lenenc;
use super::ProtocolError;

/// A decoded COM_CHANGE_USER (without its command byte).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeUser {
    pub user: String,
    pub auth_response: Vec<u8>,
    pub db: Option<String>,
    pub collation: Option<u8>,
    pub plugin: Option<Vec<u8>>,
    pub attrs: Option<HashMap<String, String>>,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn null_str(&mut self) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .0
            .iter()
            .position(|b| *b == 0)
            .ok_or(ProtocolError::Malformed("COM_CHANGE_USER string"))?;
        let (s, rest) = self.0.split_at(end);
        self.0 = &rest[1..];
        Ok(s)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.0.len() < n {
            return Err(ProtocolError::Malformed("COM_CHANGE_USER too short"));
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(s)
    }

    fn lenenc(&mut self) -> Result<u64, ProtocolError> {
        let v = lenenc(self.0).ok_or(ProtocolError::Malformed("length"))?;
        let width = match self.0.first() {
            Some(0xFC) => 3,
            Some(0xFD) => 4,
            Some(0xFE) => 9,
            _ => 1,
        };
        self.take(width)?;
        Ok(v)
    }

    fn lenenc_str(&mut self) -> Result<&'a [u8], ProtocolError> {
        let n = self.lenenc()?;
        self.take(usize::try_from(n).map_err(|_| ProtocolError::Malformed("length"))?)
    }
}

/// Parses the body of COM_CHANGE_USER with the connection's capabilities.
pub fn parse(body: &[u8], caps: CapabilityFlags) -> Result<ChangeUser, ProtocolError> {
    let mut r = Reader(body);
    let user = String::from_utf8_lossy(r.null_str()?).into_owned();
    let auth_response = if caps.contains(CapabilityFlags::CLIENT_SECURE_CONNECTION) {
        let n = *r.take(1)?.first().unwrap_or(&0) as usize;
        r.take(n)?.to_vec()
    } else {
        r.null_str()?.to_vec()
    };
    let mut out = ChangeUser {
        user,
        auth_response,
        ..Default::default()
    };
    if r.0.is_empty() {
        return Ok(out);
    }
    let db = r.null_str()?;
    if !db.is_empty() {
        out.db = Some(String::from_utf8_lossy(db).into_owned());
    }
    if r.0.len() >= 2 {
        let cs = r.take(2)?;
        out.collation = Some(cs[0]);
    }
    if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) && !r.0.is_empty() {
        out.plugin = Some(r.null_str()?.to_vec());
    }
    if caps.contains(CapabilityFlags::CLIENT_CONNECT_ATTRS) && !r.0.is_empty() {
        let mut data = Reader(r.lenenc_str()?);
        let mut attrs = HashMap::new();
        while !data.0.is_empty() {
            let k = String::from_utf8_lossy(data.lenenc_str()?).into_owned();
            let v = String::from_utf8_lossy(data.lenenc_str()?).into_owned();
            attrs.insert(k, v);
        }
        out.attrs = Some(attrs);
    }
    Ok(out)
}
