//! The printer's 32-byte status reply (answer to `ESC i S`, and the automatic notifications while
//! printing), parsed by `brother_ql` and turned into the problems staff can act on, each with a
//! clear message: no media, end of media, cutter jam, cover open, wrong media, busy, ...
//!
//! `brother_ql` rejects a reply with any unexpected reserved byte or an unknown model code; a
//! printer whose firmware differs there must still be understood, so when the crate refuses a
//! reply that has the status header (`80 20 42`), the fields we need (error bytes 8-9, media
//! width 10 and type 11, status type 18, phase 19) are read directly, at the offsets of
//! Brother's reference. Pure functions, no I/O.
//!
//! May call: nothing else of the crate.

use super::LabelSize;
use brother_ql::status::{ErrorFlags, StatusInformation};

/// The status type (byte 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Reply,
    PrintingCompleted,
    ErrorOccurred,
    TurnedOff,
    Notification,
    PhaseChange,
    Other(u8),
}

impl StatusKind {
    fn from_byte(byte: u8) -> Self {
        match byte {
            0x00 => StatusKind::Reply,
            0x01 => StatusKind::PrintingCompleted,
            0x02 => StatusKind::ErrorOccurred,
            0x04 => StatusKind::TurnedOff,
            0x05 => StatusKind::Notification,
            0x06 => StatusKind::PhaseChange,
            other => StatusKind::Other(other),
        }
    }
}

/// What a status reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterStatus {
    pub errors: ErrorFlags,
    /// Width of the loaded media in mm (0: none).
    pub media_width_mm: u8,
    /// 0x0A continuous tape, 0x0B die-cut labels, 0x00 none.
    pub media_type: u8,
    pub kind: StatusKind,
    /// Byte 19: 0 receiving, 1 printing.
    pub printing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a printer status reply ({len} bytes starting {head:02x?})")]
pub(crate) struct StatusParseError {
    len: usize,
    head: Vec<u8>,
}

impl PrinterStatus {
    /// The same fields from the crate's parsed form (the USB transport reads through `brother_ql`).
    pub(crate) fn from_info(info: &StatusInformation) -> Self {
        use brother_ql::media::LabelType;
        use brother_ql::status::StatusType;
        let kind = match info.status_type {
            StatusType::StatusRequestReply => StatusKind::Reply,
            StatusType::PrintingCompleted => StatusKind::PrintingCompleted,
            StatusType::ErrorOccurred => StatusKind::ErrorOccurred,
            StatusType::TurnedOff => StatusKind::TurnedOff,
            StatusType::Notification => StatusKind::Notification,
            StatusType::PhaseChange => StatusKind::PhaseChange,
        };
        Self {
            errors: info.errors,
            media_width_mm: info.media_width,
            media_type: match info.media_type {
                Some(LabelType::Continuous) => 0x0A,
                Some(LabelType::DieCut) => 0x0B,
                None => 0x00,
            },
            kind,
            printing: info.phase == brother_ql::status::Phase::Printing,
        }
    }
}

/// Parses a 32-byte status reply.
pub(crate) fn parse_status(reply: &[u8]) -> Result<PrinterStatus, StatusParseError> {
    if let Ok(info) = StatusInformation::try_from(reply) {
        return Ok(PrinterStatus::from_info(&info));
    }
    // The crate refused it: read the documented fields of anything that is a status reply.
    if reply.len() == 32 && reply[..3] == [0x80, 0x20, 0x42] {
        return Ok(PrinterStatus {
            errors: ErrorFlags::from_bits_retain(u16::from_le_bytes([reply[8], reply[9]])),
            media_width_mm: reply[10],
            media_type: reply[11],
            kind: StatusKind::from_byte(reply[18]),
            printing: reply[19] == 0x01,
        });
    }
    Err(StatusParseError { len: reply.len(), head: reply.iter().take(4).copied().collect() })
}

/// Something that keeps the printer from printing our labels now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NoMedia,
    EndOfMedia,
    CutterJam,
    Busy,
    TurnedOff,
    /// The printer asks for other media (what is loaded does not fit the job).
    ReplaceMedia,
    CoverOpen,
    FeedingError,
    CommunicationError,
    BufferFull,
    SystemError,
    /// Error bits the reference marks as unused.
    Other(u16),
    /// The tape loaded is not the width the labels are rendered for.
    WrongMedia {
        loaded_mm: u8,
        loaded_continuous: bool,
        expected: LabelSize,
    },
}

impl Problem {
    /// A CamelCase reason for status conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            Problem::NoMedia => "NoMedia",
            Problem::EndOfMedia => "EndOfMedia",
            Problem::CutterJam => "CutterJam",
            Problem::Busy => "Busy",
            Problem::TurnedOff => "TurnedOff",
            Problem::ReplaceMedia => "ReplaceMedia",
            Problem::CoverOpen => "CoverOpen",
            Problem::FeedingError => "FeedingError",
            Problem::CommunicationError => "CommunicationError",
            Problem::BufferFull => "BufferFull",
            Problem::SystemError => "SystemError",
            Problem::Other(_) => "PrinterError",
            Problem::WrongMedia { .. } => "WrongMedia",
        }
    }

    /// What is wrong and what staff should do, in one line.
    pub fn message(&self) -> String {
        match self {
            Problem::NoMedia => "no labels loaded: insert a label roll".into(),
            Problem::EndOfMedia => "the label roll is used up: load a new roll".into(),
            Problem::CutterJam => "the cutter is jammed: open the cover and clear it".into(),
            Problem::Busy => "the printer is busy with another job".into(),
            Problem::TurnedOff => "the printer is turned off".into(),
            Problem::ReplaceMedia => "the printer asks for other labels: check the roll".into(),
            Problem::CoverOpen => "the cover is open: close it".into(),
            Problem::FeedingError => "the labels cannot be fed: check the roll".into(),
            Problem::CommunicationError => "the printer reports a communication error".into(),
            Problem::BufferFull => "the printer's buffer is full".into(),
            Problem::SystemError => "the printer reports a system error: switch it off and on".into(),
            Problem::Other(bits) => format!("the printer reports error bits {bits:#06x}"),
            Problem::WrongMedia { loaded_mm, loaded_continuous, expected } => format!(
                "wrong labels loaded: {loaded_mm} mm {} but LABEL_SIZE is {} endless tape",
                if *loaded_continuous { "endless tape" } else { "die-cut labels" },
                expected.width_mm()
            ),
        }
    }
}

/// The problems a status shows for printing on `expected` tape (empty: ready).
pub fn problems(status: &PrinterStatus, expected: LabelSize) -> Vec<Problem> {
    let flags = [
        (ErrorFlags::NoMediaError, Problem::NoMedia),
        (ErrorFlags::EndOfMediaError, Problem::EndOfMedia),
        (ErrorFlags::CutterJamError, Problem::CutterJam),
        (ErrorFlags::PrinterInUseError, Problem::Busy),
        (ErrorFlags::PrinterTurnedOffError, Problem::TurnedOff),
        (ErrorFlags::ReplaceMediaError, Problem::ReplaceMedia),
        (ErrorFlags::ExpansionBufferFullError, Problem::BufferFull),
        (ErrorFlags::CommunicationError, Problem::CommunicationError),
        (ErrorFlags::CoverOpenError, Problem::CoverOpen),
        (ErrorFlags::FeedingError, Problem::FeedingError),
        (ErrorFlags::SystemError, Problem::SystemError),
    ];
    let mut found: Vec<Problem> =
        flags.iter().filter(|(flag, _)| status.errors.contains(*flag)).map(|(_, p)| p.clone()).collect();
    let known = flags.iter().fold(ErrorFlags::empty(), |all, (flag, _)| all | *flag);
    let unknown = status.errors.bits() & !known.bits();
    if unknown != 0 {
        found.push(Problem::Other(unknown));
    }
    let media_loaded = status.media_width_mm != 0 && !status.errors.contains(ErrorFlags::NoMediaError);
    let continuous = status.media_type == 0x0A;
    if media_loaded && (status.media_width_mm != expected.width_mm() || !continuous) {
        found.push(Problem::WrongMedia { loaded_mm: status.media_width_mm, loaded_continuous: continuous, expected });
    }
    found
}

/// All problems in one line.
pub fn describe(problems: &[Problem]) -> String {
    problems.iter().map(Problem::message).collect::<Vec<_>>().join("; ")
}

#[cfg(any(test, feature = "test-support"))]
/// Builds a status reply as a QL-820NWB sends it (for the test printer and the tests).
pub fn encode_status(errors: ErrorFlags, media_width_mm: u8, media_type: u8, kind: u8, printing: bool) -> [u8; 32] {
    let mut reply = [0u8; 32];
    reply[..8].copy_from_slice(&[0x80, 0x20, 0x42, 0x34, 0x41, 0x30, 0x04, 0x00]);
    reply[8..10].copy_from_slice(&errors.bits().to_le_bytes());
    reply[10] = media_width_mm;
    reply[11] = media_type;
    reply[14] = 0x15;
    reply[15] = 0x40;
    reply[18] = kind;
    reply[19] = u8::from(printing);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_with(byte8: u8, byte9: u8) -> [u8; 32] {
        let mut reply = encode_status(ErrorFlags::empty(), 54, 0x0A, 0x02, false);
        reply[8] = byte8;
        reply[9] = byte9;
        reply
    }

    #[test]
    fn each_error_bit_of_the_reference_becomes_its_message() {
        let cases: [(u8, u8, &str, &str); 11] = [
            (0x01, 0, "NoMedia", "no labels loaded"),
            (0x02, 0, "EndOfMedia", "used up"),
            (0x04, 0, "CutterJam", "cutter is jammed"),
            (0x10, 0, "Busy", "busy"),
            (0x20, 0, "TurnedOff", "turned off"),
            (0, 0x01, "ReplaceMedia", "other labels"),
            (0, 0x02, "BufferFull", "buffer is full"),
            (0, 0x04, "CommunicationError", "communication error"),
            (0, 0x10, "CoverOpen", "cover is open"),
            (0, 0x40, "FeedingError", "cannot be fed"),
            (0, 0x80, "SystemError", "system error"),
        ];
        for (byte8, byte9, reason, message) in cases {
            let status = parse_status(&reply_with(byte8, byte9)).unwrap();
            assert_eq!(status.kind, StatusKind::ErrorOccurred);
            let found = problems(&status, LabelSize::Mm54);
            assert_eq!(found.len(), 1, "{reason}: {found:?}");
            assert_eq!(found[0].reason(), reason);
            assert!(found[0].message().contains(message), "{reason}: {}", found[0].message());
        }
    }

    #[test]
    fn a_ready_printer_with_the_right_tape_has_no_problem() {
        let status = parse_status(&encode_status(ErrorFlags::empty(), 62, 0x0A, 0, false)).unwrap();
        assert_eq!(status.kind, StatusKind::Reply);
        assert!(problems(&status, LabelSize::Mm62).is_empty());
    }

    #[test]
    fn wrong_media_names_what_is_loaded_and_what_is_expected() {
        let status = parse_status(&encode_status(ErrorFlags::empty(), 62, 0x0A, 0, false)).unwrap();
        let found = problems(&status, LabelSize::Mm54);
        assert_eq!(found[0].message(), "wrong labels loaded: 62 mm endless tape but LABEL_SIZE is 54 endless tape");
        let die_cut = parse_status(&encode_status(ErrorFlags::empty(), 54, 0x0B, 0, false)).unwrap();
        assert_eq!(problems(&die_cut, LabelSize::Mm54)[0].reason(), "WrongMedia");
    }

    #[test]
    fn replies_the_crate_refuses_are_still_understood() {
        let mut reply = reply_with(0x01, 0x10);
        reply[4] = 0x7F; // a model code brother_ql does not know
        let status = parse_status(&reply).unwrap();
        let reasons: Vec<_> = problems(&status, LabelSize::Mm54).iter().map(Problem::reason).collect();
        assert_eq!(reasons, ["NoMedia", "CoverOpen"]);
        assert!(parse_status(&[0u8; 32]).is_err());
        assert!(parse_status(&reply[..16]).is_err());
    }
}
