//! GS1 scans
