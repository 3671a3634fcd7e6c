//! `docs/jid.md`'s table of where the `jid` crate's RFC 6122 preparation
//! and RFC 7622's differ, measured: each row's address goes through
//! `jid::Jid::new`, `Address::jid` and (with the `precis` feature)
//! `Address::enforce_rfc7622`, and the results must be the table's.

use xmpp_sansio::stanza::Address;

const DOC: &str = include_str!("../docs/jid.md");

/// A table cell: `` `text` `` or `refused (Reason)`.
#[derive(Debug, PartialEq)]
enum Cell {
    Ok(String),
    Refused(String),
}

/// `<U+XXXX>` in the table stands for that character.
fn unescape(cell: &str) -> String {
    let mut out = String::new();
    let mut rest = cell;
    while let Some(at) = rest.find("<U+") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("unclosed <U+ in {cell}"));
        let code = u32::from_str_radix(&after[..end], 16).unwrap_or_else(|e| panic!("{cell}: {e}"));
        out.push(char::from_u32(code).unwrap_or_else(|| panic!("{cell}: not a char")));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn cell(text: &str) -> Cell {
    let text = text.trim();
    if let Some(code) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        Cell::Ok(unescape(code))
    } else if let Some(reason) = text
        .strip_prefix("refused (")
        .and_then(|t| t.strip_suffix(')'))
    {
        Cell::Refused(reason.to_owned())
    } else {
        panic!("a result cell is `address` or refused (Reason): {text:?}")
    }
}

struct Row {
    number: String,
    address: String,
    jid_crate: Cell,
    this_crate: Cell,
    rfc7622: Cell,
}

fn rows() -> Vec<Row> {
    let table = DOC
        .split("## Measured differences")
        .nth(1)
        .unwrap_or_else(|| panic!("docs/jid.md has no measured table"));
    let rows: Vec<Row> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #") && !l.starts_with("| ---"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 7, "seven columns: {line}");
            let Cell::Ok(address) = cell(cells[2]) else {
                panic!("the address column is one address: {line}")
            };
            Row {
                number: cells[0].trim().to_owned(),
                address,
                jid_crate: cell(cells[3]),
                this_crate: cell(cells[4]),
                rfc7622: cell(cells[5]),
            }
        })
        .collect();
    assert!(rows.len() >= 20, "the table was read: {} rows", rows.len());
    rows
}

#[test]
fn the_jid_crate_and_address_jid_columns_are_measured() {
    for row in rows() {
        let jid_crate = match jid::Jid::new(&row.address) {
            Ok(j) => Cell::Ok(j.to_string()),
            Err(e) => Cell::Refused(format!("{e:?}")),
        };
        assert_eq!(
            jid_crate, row.jid_crate,
            "row {}: jid::Jid::new",
            row.number
        );
        let address = Address::new(&row.address);
        let this_crate = match (address.jid(), address.check()) {
            (Ok(j), Ok(())) => Cell::Ok(j.to_string()),
            (Err(_), Err(reason)) => Cell::Refused(format!("{reason:?}")),
            (jid, check) => panic!(
                "row {}: jid() {jid:?} and check() {check:?} disagree",
                row.number
            ),
        };
        assert_eq!(
            this_crate, row.this_crate,
            "row {}: Address::jid",
            row.number
        );
        assert_eq!(address.as_str(), row.address, "the address is kept as sent");
    }
}

#[cfg(feature = "precis")]
#[test]
fn the_rfc7622_column_is_measured() {
    for row in rows() {
        let rfc7622 = match Address::new(&row.address).enforce_rfc7622() {
            Ok(s) => Cell::Ok(s),
            Err(reason) => Cell::Refused(format!("{reason:?}")),
        };
        assert_eq!(rfc7622, row.rfc7622, "row {}: enforce_rfc7622", row.number);
    }
}

/// Without the feature the RFC 7622 column is not measured here: say so
/// rather than pass silently.
#[cfg(not(feature = "precis"))]
#[test]
fn the_rfc7622_column_needs_the_precis_feature() {
    assert!(
        rows()
            .iter()
            .all(|r| matches!(r.rfc7622, Cell::Ok(_) | Cell::Refused(_)))
    );
    eprintln!("the RFC 7622 column is measured with: cargo test --features precis --test jid");
}
