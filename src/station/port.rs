//! Opening the serial port: by path, or by finding a USB adapter's VID:PID.

use std::path::{Path, PathBuf};

use tokio_serial::{
    DataBits, FlowControl, Parity as SParity, SerialPort, SerialPortBuilderExt, SerialStream,
    StopBits,
};

use super::config::{Parity, StationConfig, parse_vid_pid};

/// Opens the configured port; returns it and a label naming what was opened.
pub fn open(cfg: &StationConfig) -> Result<(SerialStream, String), String> {
    let configured = cfg.port.as_deref().ok_or("no port configured")?;
    let (path, label) = if configured == "auto" {
        let usb = cfg.usb.as_deref().unwrap_or("");
        let (vid, pid) = parse_vid_pid(usb).ok_or_else(|| format!("bad usb {usb:?}"))?;
        let found = find_usb_tty(Path::new("/sys/class/tty"), vid, pid)
            .ok_or_else(|| format!("no USB serial adapter {usb} plugged in"))?;
        let label = format!("{} (USB {usb})", found.display());
        (found, label)
    } else {
        let p = PathBuf::from(configured);
        let label = match std::fs::canonicalize(&p) {
            Ok(real) if real != p => format!("{} -> {}", p.display(), real.display()),
            _ => configured.to_string(),
        };
        (p, label)
    };
    let data_bits = match cfg.data_bits {
        5 => DataBits::Five,
        6 => DataBits::Six,
        7 => DataBits::Seven,
        _ => DataBits::Eight,
    };
    let parity = match cfg.parity {
        Parity::None => SParity::None,
        Parity::Odd => SParity::Odd,
        Parity::Even => SParity::Even,
    };
    let stop_bits = if cfg.stop_bits == 2 {
        StopBits::Two
    } else {
        StopBits::One
    };
    let port = tokio_serial::new(path.to_string_lossy(), cfg.baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(FlowControl::None)
        .open_native_async()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // Whatever piled up while nobody listened is old news, and half a line.
    if let Err(e) = port.clear(tokio_serial::ClearBuffer::Input) {
        tracing::debug!("flush of {} failed: {e}", path.display());
    }
    Ok((port, label))
}

/// Finds `/dev/<tty>` whose USB device has this VID:PID.
///
/// `tokio_serial::available_ports()` without libudev walks the same sysfs
/// links, but it panics when `/sys/class/tty` is missing (containers), and a
/// station port must never panic the app; so the walk is done here.
pub fn find_usb_tty(sys_class_tty: &Path, vid: u16, pid: u16) -> Option<PathBuf> {
    let mut names: Vec<_> = std::fs::read_dir(sys_class_tty)
        .ok()?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let Ok(device) = std::fs::canonicalize(sys_class_tty.join(&name).join("device")) else {
            continue;
        };
        // ttyUSB: device is the usb-serial port, two levels under the USB
        // device; ttyACM: device is the interface, one level under.
        let mut dir = Some(device.as_path());
        for _ in 0..4 {
            let Some(d) = dir else { break };
            if let (Some(v), Some(p)) = (
                read_hex(&d.join("idVendor")),
                read_hex(&d.join("idProduct")),
            ) {
                if (v, p) == (vid, pid) {
                    return Some(Path::new("/dev").join(&name));
                }
                break;
            }
            dir = d.parent();
        }
    }
    None
}

fn read_hex(path: &Path) -> Option<u16> {
    let s = std::fs::read_to_string(path).ok()?;
    u16::from_str_radix(s.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_usb_tty_in_a_fake_sysfs() {
        let root = tempfile::tempdir().expect("tmp");
        let r = root.path();
        // /sys/devices/.../1-1 (idVendor) / 1-1:1.0 / ttyUSB0 ; class link -> ttyUSB0
        let usb = r.join("devices/usb1/1-1");
        let port = usb.join("1-1:1.0/ttyUSB0");
        std::fs::create_dir_all(&port).expect("mk");
        std::fs::write(usb.join("idVendor"), "0403\n").expect("w");
        std::fs::write(usb.join("idProduct"), "6001\n").expect("w");
        let class = r.join("class/tty/ttyUSB0");
        std::fs::create_dir_all(&class).expect("mk");
        std::os::unix::fs::symlink(&port, class.join("device")).expect("ln");
        // a tty without a device link is skipped
        std::fs::create_dir_all(r.join("class/tty/tty0")).expect("mk");
        let found = find_usb_tty(&r.join("class/tty"), 0x0403, 0x6001);
        assert_eq!(found, Some(PathBuf::from("/dev/ttyUSB0")));
        assert_eq!(find_usb_tty(&r.join("class/tty"), 0x1a86, 0x7523), None);
        assert_eq!(find_usb_tty(&r.join("nothing"), 0x0403, 0x6001), None);
    }
}
