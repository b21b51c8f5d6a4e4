# Helpers for /init and the guest test scripts (busybox ash). Everything a test
# reports goes to the console as one line starting with "@@vsnd ", which the host
# harness parses; files for the host go to /out (written to the output disk at the end).

vsnd_mark() { echo "@@vsnd $*"; }

# Sets VSND_NOW_US to monotonic time in microseconds: the "now at N nsecs" line of
# /proc/timer_list is ktime_get() (/proc/uptime only has 10 ms). Shell builtins
# only, no $(...): a fork costs tens of milliseconds under TCG and would land
# inside the measured interval.
vsnd_clock() {
	local l a b ns
	while read -r a b ns l; do
		if [ "$a $b" = "now at" ]; then
			VSND_NOW_US=$((ns / 1000))
			return 0
		fi
	done </proc/timer_list
	read -r a l </proc/uptime
	a=${a%.*}${a#*.}
	VSND_NOW_US=$((a * 10000))
}

# Sets VSND_CARD and VSND_DEV (the virtio sound card and its PCM device, which
# is the stream's nid) and VSND_PCM (hw:card,dev). Waits a little for the probe.
vsnd_find_card() {
	local i=0 c p
	while [ $i -lt 50 ]; do
		c=$(awk 'tolower($0) ~ /virtio/ && $1 ~ /^[0-9]+$/ { print $1; exit }' /proc/asound/cards 2>/dev/null)
		if [ -n "$c" ]; then
			p=$(ls -d "/proc/asound/card$c"/pcm*p 2>/dev/null | head -n1)
			[ -n "$p" ] || p=$(ls -d "/proc/asound/card$c"/pcm*c 2>/dev/null | head -n1)
			if [ -n "$p" ]; then
				p=${p##*/pcm}
				VSND_CARD=$c
				VSND_DEV=${p%[pc]}
				VSND_PCM=hw:$VSND_CARD,$VSND_DEV
				return 0
			fi
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Bytes per frame for an ALSA format name and a channel count.
vsnd_frame_bytes() {
	case "$1" in
	S8|U8) echo $(($2 * 1)) ;;
	S16_LE|U16_LE) echo $(($2 * 2)) ;;
	S24_3LE|U24_3LE|S20_3LE|U20_3LE) echo $(($2 * 3)) ;;
	FLOAT64_LE) echo $(($2 * 8)) ;;
	*) echo $(($2 * 4)) ;;
	esac
}

# Prints the ALSA error output of a failed command (file $2) after a marker for id $1.
vsnd_show_err() {
	local l
	[ -s "$2" ] || return 0
	while IFS= read -r l; do vsnd_mark "stderr id=$1 $l"; done <"$2"
}

# vsnd_play ID FMT RATE CH FILE: plays a raw file on the card with no conversion
# (a hw: device, so an unsupported format fails instead of being converted),
# and reports the exit status and the wall time aplay took.
vsnd_play() {
	local id=$1 fmt=$2 rate=$3 ch=$4 file=$5 t0 t1 rc
	vsnd_clock
	t0=$VSND_NOW_US
	# shellcheck disable=SC2086 # VSND_BUFS is a list of options
	aplay -q -D "$VSND_PCM" $VSND_BUFS -t raw -f "$fmt" -r "$rate" -c "$ch" "$file" 2>"/tmp/$id.err"
	rc=$?
	vsnd_clock
	t1=$VSND_NOW_US
	vsnd_show_err "$id" "/tmp/$id.err"
	vsnd_mark "play id=$id rc=$rc start_us=$t0 wall_us=$((t1 - t0)) bytes=$(wc -c <"$file")"
	return $rc
}

# vsnd_record ID FMT RATE CH FRAMES: records FRAMES frames to /out/ID.raw.
vsnd_record() {
	local id=$1 fmt=$2 rate=$3 ch=$4 frames=$5 t0 t1 rc
	vsnd_clock
	t0=$VSND_NOW_US
	# shellcheck disable=SC2086
	arecord -q -D "$VSND_PCM" $VSND_BUFS -t raw -f "$fmt" -r "$rate" -c "$ch" -s "$frames" \
		"/out/$id.raw" 2>"/tmp/$id.err"
	rc=$?
	vsnd_clock
	t1=$VSND_NOW_US
	vsnd_show_err "$id" "/tmp/$id.err"
	vsnd_mark "record id=$id rc=$rc start_us=$t0 wall_us=$((t1 - t0)) bytes=$(wc -c <"/out/$id.raw" 2>/dev/null || echo 0)"
	return $rc
}

# vsnd_trigger STATUS_FILE: sets VSND_TRIGGER to the substream's trigger_time (the
# kernel's timestamp of its START, seconds) while it is RUNNING, else to "".
vsnd_trigger() {
	local k v state=''
	VSND_TRIGGER=
	while read -r k v; do
		case "$k" in
		state:) state=$v ;;
		trigger_time:) [ "$state" = RUNNING ] && VSND_TRIGGER=$v ;;
		esac
	done <"$1"
}

# vsnd_watch_start ID DIR: polls the card's DIR (p or c) substream until it
# runs (or 20 s pass), then reports its START (trigger_time: the kernel's
# monotonic timestamp, seconds) and the period and buffer it was given
# (frames). Its sleeps fork, but only until the START, which the host
# measures from.
vsnd_watch_start() {
	local d="/proc/asound/card$VSND_CARD/pcm$VSND_DEV$2/sub0" i=0 k v period='' buffer=''
	VSND_TRIGGER=
	while [ $i -lt 2000 ]; do
		vsnd_trigger "$d/status"
		[ -z "$VSND_TRIGGER" ] || break
		sleep 0.01
		i=$((i + 1))
	done
	while read -r k v; do
		case "$k" in
		period_size:) period=$v ;;
		buffer_size:) buffer=$v ;;
		esac
	done <"$d/hw_params"
	vsnd_mark "start id=$1 trigger=${VSND_TRIGGER:-none} period=${period:-none} buffer=${buffer:-none}"
}

# vsnd_watch_triggers ID: polls the card's playback and capture substreams until
# both have started (or 20 s pass) and reports both trigger times; both use the
# timestamp clock aplay and arecord selected (monotonic), so they compare.
vsnd_watch_triggers() {
	local d="/proc/asound/card$VSND_CARD/pcm$VSND_DEV" p='' c='' i=0
	while [ $i -lt 2000 ] && { [ -z "$p" ] || [ -z "$c" ]; }; do
		[ -n "$p" ] || { vsnd_trigger "${d}p/sub0/status"; p=$VSND_TRIGGER; }
		[ -n "$c" ] || { vsnd_trigger "${d}c/sub0/status"; c=$VSND_TRIGGER; }
		sleep 0.01
		i=$((i + 1))
	done
	vsnd_mark "trigger id=$1 play=${p:-none} capture=${c:-none}"
}
