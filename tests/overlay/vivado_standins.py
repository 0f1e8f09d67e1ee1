"""Strict stand-ins for the Vivado TCL commands the overlay script calls, run in a real Tcl.

`run_script(script, tmp_path)` sources a generated Vivado script in `tclsh` (when on PATH) or in
Python's own Tcl (`tkinter.Tcl()`, so CI needs no apt package), with every Vivado command replaced
by a proc that checks its arguments and records the call. Strict: a command that is neither Tcl's
nor a stand-in fails the run (`unknown` raises), a `get_bd_*` of a cell that was never created
fails, and a connection of something that is not a pin handle fails. `file mkdir/copy/delete` and
`cd` are recorded, not done. Returns the calls as lists of words, after TCL substitution: the
values Vivado would really receive.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PRELUDE = r"""
set ::calls {}
set ::cells [dict create]
set ::board_parts_result %(board_parts)s
proc rec {args} { lappend ::calls $args }
proc unknown {args} { error "not a Vivado command the stand-ins know: [lindex $args 0]" }
proc _cell_of {path what} {
    set c [lindex [split $path /] 0]
    if {![dict exists $::cells $c]} { error "$what $path: no cell $c was created" }
    return $c
}
proc create_project {args} { rec create_project {*}$args }
proc get_board_parts {args} { rec get_board_parts {*}$args; return $::board_parts_result }
proc current_project {args} { return project:current }
proc add_files {args} { rec add_files {*}$args }
proc get_filesets {name} { return fileset:$name }
proc get_files {args} { rec get_files {*}$args; return file:[lindex $args end] }
proc current_fileset {args} { return fileset:sources_1 }
proc update_compile_order {args} { rec update_compile_order {*}$args }
proc create_bd_design {name} { rec create_bd_design $name }
proc create_bd_cell {args} {
    set name [lindex $args end]
    if {[dict exists $::cells $name]} { error "create_bd_cell: cell $name exists already" }
    set type [lindex $args [expr {[lsearch $args -type] + 1}]]
    if {$type eq "ip"} {
        set ref [lindex $args [expr {[lsearch $args -vlnv] + 1}]]
    } elseif {$type eq "module"} {
        set ref [lindex $args [expr {[lsearch $args -reference] + 1}]]
    } else { error "create_bd_cell: -type $type" }
    dict set ::cells $name [list $type $ref]
    rec create_bd_cell $type $ref $name
}
proc apply_bd_automation {args} { rec apply_bd_automation {*}$args }
proc get_bd_cells {name} { _cell_of $name get_bd_cells; return cell:$name }
proc make_bd_intf_pins_external {pin} { rec make_bd_intf_pins_external $pin }
proc get_bd_intf_pins {path} { _cell_of $path get_bd_intf_pins; return intf:$path }
proc get_bd_pins {path} { _cell_of $path get_bd_pins; return pin:$path }
proc connect_bd_intf_net {a b} {
    foreach x [list $a $b] { if {![string match intf:* $x]} { error "connect_bd_intf_net: $x is not an interface pin" } }
    rec connect_bd_intf_net [string range $a 5 end] [string range $b 5 end]
}
proc connect_bd_net {args} {
    set pins {}
    foreach x $args {
        if {![string match pin:* $x]} { error "connect_bd_net: $x is not a pin" }
        lappend pins [string range $x 4 end]
    }
    rec connect_bd_net {*}$pins
}
proc get_bd_addr_spaces {path} { _cell_of $path get_bd_addr_spaces; return space:$path }
proc get_bd_addr_segs {path} { _cell_of $path get_bd_addr_segs; return seg:$path }
proc assign_bd_address {args} {
    if {[llength $args] == 0} { rec assign_bd_address_auto; return }
    set o [dict create -force 0]
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        switch -- $a {
            -offset - -range - -target_address_space { dict set o $a [lindex $args [incr i]] }
            -force { dict set o -force 1 }
            default { dict set o seg $a }
        }
    }
    if {![string match seg:* [dict get $o seg]]} { error "assign_bd_address: [dict get $o seg] is not a segment" }
    rec assign_bd_address [string range [dict get $o seg] 4 end] [dict get $o -offset] [dict get $o -range] \
        [string range [dict get $o -target_address_space] 6 end]
}
proc validate_bd_design {args} { rec validate_bd_design }
proc save_bd_design {args} { rec save_bd_design }
proc generate_target {args} { rec generate_target {*}$args }
proc make_wrapper {args} { rec make_wrapper {*}$args; return wrapper.v }
proc launch_runs {args} { rec launch_runs {*}$args }
proc wait_on_run {args} { rec wait_on_run {*}$args }
proc get_runs {name} { return run:$name }
proc open_run {args} { rec open_run {*}$args }
proc get_timing_paths {args} { return path:worst }
proc report_utilization {args} { rec report_utilization {*}$args }
proc report_timing_summary {args} { rec report_timing_summary {*}$args }
proc get_property {args} {
    switch -- [lindex $args 0] { PROGRESS { return "100%%" } SLACK { return 0.25 } DIRECTORY { return /run } }
    error "get_property [lindex $args 0]: not a property the stand-ins know"
}
proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        set target [lindex $args 2]
        if {[llength [lindex $args 1]] %% 2} { error "set_property -dict: odd list [lindex $args 1]" }
        foreach {k v} [lindex $args 1] { rec set_config $target $k $v }
    } else { rec set_property {*}$args }
}
rename cd _tcl_cd
proc cd {dir} { rec cd $dir }
rename file _tcl_file
proc file {sub args} {
    if {$sub in {copy mkdir delete}} { rec file $sub {*}$args; return "" }
    return [_tcl_file $sub {*}$args]
}
proc exit {args} { rec exit }
source %(script)s
set fh [open %(out)s w]
foreach c $::calls { puts $fh [join $c "\x1f"] }
close $fh
"""


def _braced(text: str) -> str:
    if any(c in text for c in "{}\\\n"):
        raise ValueError(f"{text!r} cannot be brace-quoted")
    return "{" + text + "}"


def interpreter() -> str:
    """'tclsh' when on PATH, else 'tkinter' (Python's own Tcl)."""
    return "tclsh" if shutil.which("tclsh") else "tkinter"


def run_script(script: Path, tmp_path: Path, *, board_parts: str = "found", via: str | None = None) -> list[list[str]]:
    out = tmp_path / "calls.txt"
    driver = PRELUDE % {"board_parts": _braced(board_parts), "script": _braced(str(script)), "out": _braced(str(out))}
    via = via or interpreter()
    if via == "tclsh":  # a file, not stdin: from stdin tclsh goes on after an error
        path = tmp_path / "driver.tcl"
        path.write_text(driver)
        r = subprocess.run(["tclsh", str(path)], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"tclsh: {r.stderr.strip() or r.stdout.strip()}")
    else:
        import tkinter

        tcl = tkinter.Tcl()
        try:
            tcl.eval(driver)
        except tkinter.TclError as exc:
            raise RuntimeError(f"Tcl: {exc}") from None
    return [line.split("\x1f") for line in out.read_text().splitlines()]
