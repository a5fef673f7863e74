//! Brother QL raster jobs. The `brother_ql` crate compiles our 1-bit images into the raster command
//! stream of the QL-800 series (invalidate, initialise, raster mode, print information, cut
//! settings, margins, raster lines, print); this module adds what it lacks, in a small layer that
//! works on the stream as data:
//!
//! - **Compression.** `brother_ql` 3.0 accepts `.compressed(true)` but ignores it and always sends
//!   `M 00` with 90-byte lines. We parse its stream, switch it to TIFF/PackBits (`M 02`) and pack
//!   every raster line (a blank line shrinks from 93 to 5 bytes), as Brother's reference
//!   describes for `g 00 n`.
//! - **A decoder** of the command stream ([`parse`], [`decode_pages`]) after Brother's raster
//!   command reference: used to rewrite the stream, by the tests that check the job field by field
//!   and decode the raster lines back into the image, and by the test printer.
//!
//! Geometry (Brother's tables, also in `brother_ql`): the head has 720 dots; 54 mm tape prints 590
//! of them starting at dot 0 of the raster line, 62 mm tape 696 starting at dot 12. `brother_ql`
//! sends the image's last row first, so the label leaves the printer bottom edge first.
//! Pure functions, no I/O.
//!
//! May call: nothing else of the crate.

use super::LabelSize;
use brother_ql::printjob::PrintJobBuilder;
use image::{DynamicImage, GrayImage};

/// Bytes of one uncompressed raster line (720 head dots).
pub(crate) const LINE_BYTES: usize = 90;

impl LabelSize {
    /// The first head dot of the printable area in a raster line.
    pub(crate) fn head_offset(self) -> u32 {
        match self {
            LabelSize::Mm54 => 0,
            LabelSize::Mm62 => 12,
        }
    }
}

/// Why a job could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("a print job needs at least one label")]
    Empty,
    #[error("the label is {actual} dots wide but {size} tape prints {expected} dots")]
    WrongWidth { size: LabelSize, expected: u32, actual: u32 },
    #[error("brother_ql could not compile the job: {0}")]
    Compile(#[from] brother_ql::error::PrintJobCreationError),
    #[error("unexpected raster command stream: {0}")]
    Stream(#[from] ParseError),
}

/// A compiled job: the exact bytes for the printer and the tape they are meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RasterJob {
    bytes: Vec<u8>,
    size: LabelSize,
    pages: usize,
}

impl RasterJob {
    /// Compiles `labels` (one page each, cut after each) for `size` tape, compressed.
    pub fn compile(labels: &[GrayImage], size: LabelSize) -> Result<Self, RasterError> {
        let (first, rest) = labels.split_first().ok_or(RasterError::Empty)?;
        let expected = size.printable_dots();
        if let Some(wrong) = labels.iter().find(|l| l.width() != expected) {
            return Err(RasterError::WrongWidth { size, expected, actual: wrong.width() });
        }
        let job = PrintJobBuilder::new(size.media())
            .add_label(DynamicImage::ImageLuma8(first.clone()))
            .add_labels(rest.iter().map(|l| DynamicImage::ImageLuma8(l.clone())))
            .build()?;
        let bytes = compress(&job.compile())?;
        Ok(Self { bytes, size, pages: labels.len() })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn size(&self) -> LabelSize {
        self.size
    }

    pub fn pages(&self) -> usize {
        self.pages
    }
}

/// One command of Brother's raster command language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A run of `0x00` bytes that clears the printer's input (the reference asks for 400 on the QL-800 series).
    Invalidate(usize),
    /// `ESC @`
    Initialize,
    /// `ESC i S`
    StatusRequest,
    /// `ESC i a n`: 1 = raster mode.
    CommandMode(u8),
    /// `ESC i ! n`: 0 = notify status automatically.
    StatusNotification(u8),
    /// `ESC i z n1..n10`
    PrintInformation(PrintInformation),
    /// `ESC i M n`: bit 6 = auto cut.
    VariousMode(u8),
    /// `ESC i A n`: cut every n labels.
    CutEvery(u8),
    /// `ESC i K n`: bit 0 two-colour, bit 3 cut at end, bit 6 high resolution.
    ExpandedMode(u8),
    /// `ESC i d n1 n2`: feed amount (margin) in dots.
    Margin(u16),
    /// `M n`: 0 = none, 2 = TIFF (PackBits).
    Compression(u8),
    /// `g 00 n d1..dn`: one raster line (compressed or not, as the compression mode says).
    Raster(Vec<u8>),
    /// `Z`: a blank raster line.
    ZeroRaster,
    /// `FF`: print, more pages follow.
    Print,
    /// `SUB`: print the last page and feed.
    PrintAndFeed,
}

/// The fields of `ESC i z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintInformation {
    /// n1: which fields are valid (0x02 type, 0x04 width, 0x08 length, 0x40 quality, 0x80 recovery).
    pub valid: u8,
    /// n2: 0x0A continuous tape, 0x0B die-cut labels.
    pub media_type: u8,
    /// n3: tape width in mm.
    pub width_mm: u8,
    /// n4: label length in mm (0 for continuous tape).
    pub(crate) length_mm: u8,
    /// n5..n8: raster lines of the page, least significant byte first.
    pub(crate) raster_lines: u32,
    /// n9: 0 for the first page, 1 for the others.
    pub page: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown command byte {byte:#04x} at offset {offset}")]
    Unknown { offset: usize, byte: u8 },
    #[error("command at offset {offset} is cut short")]
    Truncated { offset: usize },
    #[error("raster line at offset {offset} does not unpack to {LINE_BYTES} bytes")]
    BadLine { offset: usize },
}

/// Splits a raster command stream into commands.
pub fn parse(bytes: &[u8]) -> Result<Vec<Command>, ParseError> {
    let mut commands = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (command, len) = command_at(bytes, i)?;
        commands.push(command);
        i += len;
    }
    Ok(commands)
}

/// `Ok` when `bytes` holds `n` bytes from `i` on; a command cut short otherwise.
fn need(bytes: &[u8], i: usize, n: usize) -> Result<(), ParseError> {
    if i + n <= bytes.len() { Ok(()) } else { Err(ParseError::Truncated { offset: i }) }
}

/// The command at offset `i` and its length in bytes.
fn command_at(bytes: &[u8], i: usize) -> Result<(Command, usize), ParseError> {
    match bytes[i] {
        0x00 => {
            let run = bytes[i..].iter().take_while(|&&b| b == 0).count();
            Ok((Command::Invalidate(run), run))
        }
        0x1b => escape_at(bytes, i),
        b'M' => {
            need(bytes, i, 2)?;
            Ok((Command::Compression(bytes[i + 1]), 2))
        }
        b'g' => {
            need(bytes, i, 3)?;
            let n = bytes[i + 2] as usize;
            need(bytes, i, 3 + n)?;
            Ok((Command::Raster(bytes[i + 3..i + 3 + n].to_vec()), 3 + n))
        }
        b'Z' => Ok((Command::ZeroRaster, 1)),
        0x0c => Ok((Command::Print, 1)),
        0x1a => Ok((Command::PrintAndFeed, 1)),
        byte => Err(ParseError::Unknown { offset: i, byte }),
    }
}

/// The `ESC` command at offset `i` (`ESC @` or one of `ESC i …`) and its length in bytes.
fn escape_at(bytes: &[u8], i: usize) -> Result<(Command, usize), ParseError> {
    need(bytes, i, 2)?;
    if bytes[i + 1] == b'@' {
        return Ok((Command::Initialize, 2));
    }
    need(bytes, i, 3)?;
    if bytes[i + 1] != b'i' {
        return Err(ParseError::Unknown { offset: i, byte: bytes[i + 1] });
    }
    match bytes[i + 2] {
        b'S' => Ok((Command::StatusRequest, 3)),
        code @ (b'a' | b'!' | b'M' | b'A' | b'K') => {
            need(bytes, i, 4)?;
            let n = bytes[i + 3];
            let command = match code {
                b'a' => Command::CommandMode(n),
                b'!' => Command::StatusNotification(n),
                b'M' => Command::VariousMode(n),
                b'A' => Command::CutEvery(n),
                _ => Command::ExpandedMode(n),
            };
            Ok((command, 4))
        }
        b'd' => {
            need(bytes, i, 5)?;
            Ok((Command::Margin(u16::from_le_bytes([bytes[i + 3], bytes[i + 4]])), 5))
        }
        b'z' => {
            need(bytes, i, 13)?;
            let n = &bytes[i + 3..i + 13];
            let info = PrintInformation {
                valid: n[0],
                media_type: n[1],
                width_mm: n[2],
                length_mm: n[3],
                raster_lines: u32::from_le_bytes([n[4], n[5], n[6], n[7]]),
                page: n[8],
            };
            Ok((Command::PrintInformation(info), 13))
        }
        other => Err(ParseError::Unknown { offset: i + 2, byte: other }),
    }
}

/// Writes commands back as bytes (the inverse of [`parse`]).
pub fn encode(commands: &[Command]) -> Vec<u8> {
    let mut out = Vec::new();
    for command in commands {
        match command {
            Command::Invalidate(n) => out.extend(std::iter::repeat_n(0u8, *n)),
            Command::Initialize => out.extend([0x1b, b'@']),
            Command::StatusRequest => out.extend([0x1b, b'i', b'S']),
            Command::CommandMode(n) => out.extend([0x1b, b'i', b'a', *n]),
            Command::StatusNotification(n) => out.extend([0x1b, b'i', b'!', *n]),
            Command::PrintInformation(info) => {
                out.extend([0x1b, b'i', b'z', info.valid, info.media_type, info.width_mm, info.length_mm]);
                out.extend(info.raster_lines.to_le_bytes());
                out.extend([info.page, 0]);
            }
            Command::VariousMode(n) => out.extend([0x1b, b'i', b'M', *n]),
            Command::CutEvery(n) => out.extend([0x1b, b'i', b'A', *n]),
            Command::ExpandedMode(n) => out.extend([0x1b, b'i', b'K', *n]),
            Command::Margin(n) => {
                out.extend([0x1b, b'i', b'd']);
                out.extend(n.to_le_bytes());
            }
            Command::Compression(n) => out.extend([b'M', *n]),
            Command::Raster(data) => {
                // Lines are at most 90 bytes raw and PackBits never grows 90 bytes past 91.
                out.extend([b'g', 0x00, data.len() as u8]);
                out.extend(data);
            }
            Command::ZeroRaster => out.push(b'Z'),
            Command::Print => out.push(0x0c),
            Command::PrintAndFeed => out.push(0x1a),
        }
    }
    out
}

/// Switches an uncompressed stream from `brother_ql` to TIFF (PackBits) compression.
pub(crate) fn compress(stream: &[u8]) -> Result<Vec<u8>, ParseError> {
    let commands = parse(stream)?
        .into_iter()
        .map(|command| match command {
            Command::Compression(_) => Command::Compression(2),
            Command::Raster(line) => Command::Raster(packbits(&line)),
            other => other,
        })
        .collect::<Vec<_>>();
    Ok(encode(&commands))
}

/// TIFF PackBits: runs of 2..=128 equal bytes as `(1 - n) byte`, other bytes as `(n - 1) b1..bn`.
pub(crate) fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    let mut i = 0;
    while i < data.len() {
        let run = data[i..].iter().take(128).take_while(|&&b| b == data[i]).count();
        if run >= 2 {
            out.push((1 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < data.len() && i - start < 128 && !(i + 1 < data.len() && data[i] == data[i + 1]) {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&data[start..i]);
    }
    out
}

/// Reverses [`packbits`]; `None` for malformed input.
pub(crate) fn unpackbits(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(LINE_BYTES);
    let mut i = 0;
    while i < data.len() {
        let header = data[i] as i8;
        i += 1;
        if header >= 0 {
            let n = header as usize + 1;
            out.extend_from_slice(data.get(i..i + n)?);
            i += n;
        } else if header != -128 {
            let n = (1 - header as i16) as usize;
            out.extend(std::iter::repeat_n(*data.get(i)?, n));
            i += 1;
        }
    }
    Some(out)
}

/// One page of a job as the printer sees it: its print information and its raster lines,
/// decompressed, in the order they were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub(crate) info: PrintInformation,
    pub lines: Vec<Vec<u8>>,
    /// The command that ended the page: [`Command::Print`] or [`Command::PrintAndFeed`].
    pub end: Command,
}

/// Decodes the pages of a job stream, unpacking raster lines when compression is on.
pub fn decode_pages(stream: &[u8]) -> Result<Vec<Page>, ParseError> {
    let mut pages = Vec::new();
    let mut info = None;
    let mut lines = Vec::new();
    let mut compressed = false;
    for (index, command) in parse(stream)?.into_iter().enumerate() {
        match command {
            Command::PrintInformation(i) => info = Some(i),
            Command::Compression(mode) => compressed = mode == 2,
            Command::Raster(data) => {
                let line = if compressed { unpackbits(&data) } else { Some(data) };
                match line {
                    Some(line) if line.len() == LINE_BYTES => lines.push(line),
                    _ => return Err(ParseError::BadLine { offset: index }),
                }
            }
            Command::ZeroRaster => lines.push(vec![0; LINE_BYTES]),
            end @ (Command::Print | Command::PrintAndFeed) => {
                let info = info.take().ok_or(ParseError::Truncated { offset: index })?;
                pages.push(Page { info, lines: std::mem::take(&mut lines), end });
            }
            _ => {}
        }
    }
    Ok(pages)
}

/// The label a page's raster lines print (file previews): last row first, each set bit at head
/// dot `head_offset + x` an ink pixel.
pub(crate) fn image_from_lines(lines: &[Vec<u8>], size: LabelSize) -> GrayImage {
    use super::render::{INK, PAPER};
    let offset = size.head_offset() as usize;
    let height = lines.len() as u32;
    GrayImage::from_fn(size.printable_dots(), height, |x, y| {
        let line = &lines[(height - 1 - y) as usize];
        let dot = offset + x as usize;
        let inked = line.get(dot / 8).is_some_and(|byte| byte & (0x80 >> (dot % 8)) != 0);
        image::Luma([if inked { INK } else { PAPER }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::layout::{self, Label};

    /// The raster lines an image should become on `size` tape, independently of `brother_ql`:
    /// last row first, each ink pixel a set bit at head dot `head_offset + x` (most significant bit
    /// first).
    fn expected_lines(image: &GrayImage, size: LabelSize) -> Vec<Vec<u8>> {
        let offset = size.head_offset() as usize;
        (0..image.height())
            .rev()
            .map(|y| {
                let mut line = vec![0u8; LINE_BYTES];
                for x in 0..image.width() {
                    if image.get_pixel(x, y).0[0] == crate::labels::render::INK {
                        let dot = offset + x as usize;
                        line[dot / 8] |= 0x80 >> (dot % 8);
                    }
                }
                line
            })
            .collect()
    }

    fn two_labels(size: LabelSize) -> Vec<GrayImage> {
        let raffle = Label::Raffle { name: "Zoë Müller".into(), header: "KubeCon EU".into(), code: "bakoru".into() };
        let voucher = Label::Appuio { name: "Jan Dvořák".into(), code: "CODE42".into() };
        vec![layout::render(&raffle, size), layout::render(&voucher, size)]
    }

    /// The per-page commands Brother's QL-800 series reference lists, in its order, for a
    /// continuous tape of `width_mm` and `lines` raster lines.
    fn page_header(width_mm: u8, lines: u32, page: u8) -> Vec<Command> {
        vec![
            Command::CommandMode(0x01),        // ESC i a 01: raster mode
            Command::StatusNotification(0x00), // ESC i ! 00: notify status
            Command::PrintInformation(PrintInformation {
                valid: 0x02 | 0x04 | 0x40 | 0x80, // media type, width, quality, recovery
                media_type: 0x0A,                 // continuous length tape
                width_mm,
                length_mm: 0,
                raster_lines: lines,
                page, // 0: starting page, 1: other pages
            }),
            Command::VariousMode(0x40), // ESC i M: auto cut
            Command::CutEvery(1),       // ESC i A 01: cut after every label
            Command::ExpandedMode(0x00),
            Command::Margin(35),        // ESC i d 23 00: 35 dots feed for continuous tape
            Command::Compression(0x02), // M 02: TIFF (PackBits)
        ]
    }

    #[test]
    fn jobs_follow_brothers_command_sequence_for_54_and_62_mm() {
        for (size, width_mm) in [(LabelSize::Mm54, 54u8), (LabelSize::Mm62, 62u8)] {
            let images = two_labels(size);
            let job = RasterJob::compile(&images, size).unwrap();
            let commands = parse(job.bytes()).unwrap();
            assert_eq!(commands[..2], [Command::Invalidate(400), Command::Initialize], "{size}");
            let mut rest = &commands[2..];
            for (page, image) in images.iter().enumerate() {
                let header = page_header(width_mm, image.height(), u8::from(page > 0));
                assert_eq!(rest[..header.len()], header[..], "{size} page {page}");
                rest = &rest[header.len()..];
                let rasters = rest.iter().take_while(|c| matches!(c, Command::Raster(_))).count();
                assert_eq!(rasters, image.height() as usize, "one raster line per image row");
                let end = if page + 1 == images.len() { Command::PrintAndFeed } else { Command::Print };
                assert_eq!(rest[rasters], end);
                rest = &rest[rasters + 1..];
            }
            assert!(rest.is_empty(), "nothing after the last page");
            // The print information bytes as the reference spells them: ESC i z C6 0A <width> 00 <lines LE> <page> 00.
            let at = job.bytes().windows(3).position(|w| w == [0x1b, b'i', b'z']).unwrap();
            let lines = images[0].height().to_le_bytes();
            assert_eq!(
                job.bytes()[at..at + 13],
                [0x1b, b'i', b'z', 0xC6, 0x0A, width_mm, 0, lines[0], lines[1], lines[2], lines[3], 0, 0]
            );
        }
    }

    #[test]
    fn raster_lines_decode_back_to_the_rendered_image_with_the_media_margins() {
        for size in [LabelSize::Mm54, LabelSize::Mm62] {
            let images = two_labels(size);
            let job = RasterJob::compile(&images, size).unwrap();
            let pages = decode_pages(job.bytes()).unwrap();
            assert_eq!(pages.len(), 2);
            for (page, image) in pages.iter().zip(&images) {
                assert_eq!(page.lines, expected_lines(image, size), "{size}");
                assert_eq!(&image_from_lines(&page.lines, size), image);
                // Head dots outside the printable area stay blank.
                let (first, last) =
                    (size.head_offset() as usize, (size.head_offset() + size.printable_dots()) as usize);
                for line in &page.lines {
                    for dot in (0..first).chain(last..720) {
                        assert_eq!(line[dot / 8] & (0x80 >> (dot % 8)), 0, "{size}: dot {dot} is outside the tape");
                    }
                }
            }
            let uncompressed: usize = images.iter().map(|i| i.height() as usize * (3 + LINE_BYTES)).sum();
            assert!(job.bytes().len() < uncompressed / 2, "compression pays: {} bytes", job.bytes().len());
        }
    }

    #[test]
    fn labels_of_the_wrong_width_or_none_are_refused() {
        let narrow = GrayImage::new(100, 10);
        let error = RasterJob::compile(&[narrow], LabelSize::Mm54).unwrap_err();
        assert_eq!(error.to_string(), "the label is 100 dots wide but 54 mm tape prints 590 dots");
        assert!(matches!(RasterJob::compile(&[], LabelSize::Mm62), Err(RasterError::Empty)));
    }

    #[test]
    fn packbits_round_trips_and_matches_the_tiff_examples() {
        // The example of Apple's PackBits note / TIFF 6.0 section 9.
        let unpacked = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22, 0xAA, 0xAA, 0xAA, 0xAA,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        let packed = [0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA];
        assert_eq!(unpackbits(&packed).unwrap(), unpacked);
        assert_eq!(unpackbits(&packbits(&unpacked)).unwrap(), unpacked);
        assert_eq!(packbits(&[0u8; 90]), vec![0xA7, 0x00], "a blank line is two bytes");
        let noisy: Vec<u8> = (0..90u8).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(unpackbits(&packbits(&noisy)).unwrap(), noisy);
        let long: Vec<u8> = std::iter::repeat_n(7u8, 300).chain(0..=255u8).collect();
        assert_eq!(unpackbits(&packbits(&long)).unwrap(), long);
    }

    #[test]
    fn parse_and_encode_are_inverse() {
        let commands = vec![
            Command::Invalidate(400),
            Command::Initialize,
            Command::CommandMode(1),
            Command::PrintInformation(PrintInformation {
                valid: 0xC6,
                media_type: 0x0A,
                width_mm: 62,
                length_mm: 0,
                raster_lines: 0x0102_0304,
                page: 0,
            }),
            Command::Margin(35),
            Command::Compression(2),
            Command::Raster(vec![0xA7, 0x00]),
            Command::PrintAndFeed,
        ];
        let bytes = encode(&commands);
        assert_eq!(&bytes[402..405], &[0x1b, b'i', b'a']);
        assert_eq!(parse(&bytes).unwrap(), commands);
        assert!(matches!(parse(&bytes[..bytes.len() - 2]), Err(ParseError::Truncated { .. })));
        assert!(matches!(parse(b"\x1b\x40Q"), Err(ParseError::Unknown { offset: 2, byte: b'Q' })));
    }
}
