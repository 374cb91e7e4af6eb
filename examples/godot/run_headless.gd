# Runs cadenza_live.gd without a window, against a running `cadenza serve`, and prints what it hears:
#   godot3-server --no-window --path examples/godot -s run_headless.gd [URL]
# It asks for "tense" after bar 4 and "joyful" after bar 8, stops after bar 12, and prints each cue, each
# acknowledgement and the end, then quits (exit code 0 when both moods were heard within two bars).
extends SceneTree

var live
var asked := ""
var ack_bar := -1
var heard := []
var failed := false


func _init() -> void:
	live = load("res://cadenza_live.gd").new()
	var args := OS.get_cmdline_args()
	for arg in args:
		if arg.begins_with("ws://"):
			live.url = arg
	live.connect("cue", self, "_on_cue")
	live.connect("bar", self, "_on_bar")
	live.connect("acknowledged", self, "_on_ack")
	live.connect("refused", self, "_on_refused")
	live.connect("ended", self, "_on_end")
	get_root().call_deferred("add_child", live)


func _on_bar(number, _key, _tempo, _meter, _t) -> void:
	if number == 4 or number == 8:
		asked = "tense" if number == 4 else "joyful"
		live.set_mood(asked)
	elif number == 12:
		live.send_control({"stop": true})


func _on_ack(control, bar) -> void:
	if asked != "" and control.get("mood", "") == asked:
		ack_bar = bar
		print("ack %s: bars up to %d written" % [to_json(control), bar])


func _on_cue(name, key, tempo_bpm, bar) -> void:
	print("bar %d: %s, %s, %d bpm" % [bar, name, key, tempo_bpm])
	if asked != "" and name == asked:
		heard.append(bar - ack_bar)
		if bar - ack_bar > 2 or ack_bar < 0:
			failed = true
		asked = ""


func _on_refused(error) -> void:
	print("error: ", error)
	failed = true


func _on_end(figures) -> void:
	print("end: %d bars; heard each mood %s bars after its ack" % [figures["chunks"], str(heard)])
	quit(1 if failed or heard.size() != 2 else 0)
