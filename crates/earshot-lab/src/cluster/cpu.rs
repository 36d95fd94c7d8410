//! CPU time of a process, from `/proc/<pid>/stat` (Linux).

/// Clock ticks per second as Linux reports CPU times in `/proc` (`USER_HZ`, 100 on every
/// mainstream architecture; `getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds the process `pid` has used so far; `None` when it is gone or
/// this is not Linux.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_added_up_even_with_spaces_in_the_name() {
        let stat = "4242 (earshot serve) S 1 4242 4242 0 -1 4194560 3000 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_stat(stat), Some(3.0));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_used_some_time() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds(std::process::id()).is_some());
        }
    }
}
