# Cadenza's live soundtrack in a Godot 3 game (tried headless in Godot 3.2; Godot 4 replaced WebSocketClient
# with WebSocketPeer, and this script was not tried there). Add it to a Node, start `cadenza serve`, and
# connect to the signals: `bar` and `beat` to sync animation, `note` to play the notes with your own
# instruments (each arrives about a bar before it sounds: play it at `t` seconds after `started_ms`), `cue`
# to see the mood, key and tempo change. Call `set_mood("tense")` (or `send_control({"valence": -0.4,
# "intensity": 0.9})`) when the game's scene changes: the music follows within two bars.
# `examples/godot/run_headless.gd` runs it without a window.
extends Node

signal cue(name, key, tempo_bpm, bar)
signal bar(number, key, tempo_bpm, meter, t)
signal beat(bar, beat, t)
signal note(pitch, velocity, duration_s, part, t)
signal acknowledged(control, bar)
signal refused(error)
signal ended(figures)

export var url := "ws://127.0.0.1:8750/v1/live?mood=calm"
export var api_key := ""  # the server's --api-key, if it has one

var started_ms := -1  # OS.get_ticks_msec() when the first bar arrived: a note sounds at started_ms + t * 1000
var _ws := WebSocketClient.new()


func _ready() -> void:
	_ws.connect("data_received", self, "_on_data")
	_ws.connect("connection_closed", self, "_on_closed")
	_ws.connect("connection_error", self, "_on_error")
	var headers := PoolStringArray()
	if api_key != "":
		headers.append("X-API-Key: " + api_key)
	var error := _ws.connect_to_url(url, PoolStringArray(), false, headers)
	if error != OK:
		emit_signal("refused", "cannot connect to %s (error %d)" % [url, error])


func _process(_delta: float) -> void:
	_ws.poll()


func set_mood(mood: String) -> void:
	send_control({"mood": mood})


func send_control(change: Dictionary) -> void:
	var peer := _ws.get_peer(1)
	peer.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	peer.put_packet(to_json(change).to_utf8())


func _on_data() -> void:
	var peer := _ws.get_peer(1)
	while peer.get_available_packet_count() > 0:
		var event = parse_json(peer.get_packet().get_string_from_utf8())
		if typeof(event) != TYPE_DICTIONARY:
			continue
		match event["type"]:
			"cue":
				emit_signal("cue", event["name"], event["key"], event["tempo_bpm"], int(event["bar"]))
			"bar":
				if started_ms < 0:
					started_ms = OS.get_ticks_msec()
				emit_signal("bar", int(event["bar"]), event["key"], event["tempo_bpm"], event["meter"], event["t"])
			"beat":
				emit_signal("beat", int(event["bar"]), int(event["beat"]), event["t"])
			"note":
				emit_signal("note", int(event["pitch"]), int(event["velocity"]), event["duration_s"],
						int(event["part"]), event["t"])
			"ack":
				emit_signal("acknowledged", event["control"], int(event["bar"]))
			"error":
				emit_signal("refused", event["error"])
			"end":
				emit_signal("ended", event)


func _on_closed(_clean := false) -> void:
	set_process(false)


func _on_error() -> void:
	emit_signal("refused", "the connection to %s failed" % url)
	set_process(false)
