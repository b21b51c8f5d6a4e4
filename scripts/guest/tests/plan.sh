# Runs the steps the host wrote to /in/plan.txt, one per line:
#   play ID FMT RATE CH FILE            aplay /in/FILE
#   play-timed ID FMT RATE CH FILE      the same, and report the stream's START
#                                       time, period and buffer (vsnd_watch_start)
#   record ID FMT RATE CH FRAMES        arecord FRAMES frames to /out/ID.raw
#   record-timed ID FMT RATE CH FRAMES  the same, and report its START (as play-timed)
#   duplex ID FMT RATE CH FILE FRAMES   record ID-rec while playing ID-play, and
#                                       report both streams' START times
#   cycle-play ID N FMT RATE CH FILE    N open/play/close cycles
#   cycle-record ID N FMT RATE CH FRAMES  N open/record/close cycles (/out/ID-k.raw)
#   sleep SECONDS
#   selftest ID PROG                    the kernel's ALSA selftest PROG (pcm-test,
#                                       mixer-test): its TAP output to /out/ID.txt
#   bufs PERIOD BUFFER                  later play/record steps ask ALSA for these
#                                       period and buffer sizes (frames); 0 0: defaults
#   play-dev ID DEV FMT RATE CH FILE    aplay on PCM device DEV of the card (a nid)
#   amixer ID ARGS...                   amixer -c CARD ARGS (up to 4 words)
#   contents ID                         amixer contents and /proc/asound/pcm to /out/ID.txt
#   wait-host ID SECONDS                say "wait id=ID" and sleep: the host acts meanwhile
#   reload ID N FMT RATE CH FILE        N driver reloads while aplay plays FILE and
#                                       arecord records (see plan_reload)
#   latency ID BUFFER PERIOD            alsabat's round trip (a sine played, heard on
#                                       the capture), S16_LE 48 kHz stereo, BUFFER and
#                                       PERIOD frames (0 0: alsabat's search); its log
#                                       to /out/ID.txt
#   pcmclock ID SECONDS [SLOT]          pcmclock plays SECONDS of silence (aplay's
#                                       default buffer) and logs "NS FRAMES" at each
#                                       completed period to /out/ID.txt; on the card
#                                       at PCI slot SLOT (hex, QEMU's addr=0xSLOT)
# Each step reports on the console; a failed step fails the script but the rest run.
plan_rc=0
plan_fail() { plan_rc=1; }

plan_selftest() {
	local rc
	# pcm-test reads pcm-test.conf and conf.d/ from the current directory
	(cd /selftests && "./$2") >"/out/$1.txt" 2>&1
	rc=$?
	vsnd_mark "selftest id=$1 rc=$rc"
}

plan_duplex() {
	local id=$1 fmt=$2 rate=$3 ch=$4 file=$5 frames=$6 pid wpid
	vsnd_watch_triggers "$id" &
	wpid=$!
	vsnd_record "$id-rec" "$fmt" "$rate" "$ch" "$frames" &
	pid=$!
	# Let arecord open and start before playing, so the whole clip is captured.
	sleep 0.3
	vsnd_play "$id-play" "$fmt" "$rate" "$ch" "/in/$file" || plan_fail
	wait $pid || plan_fail
	wait $wpid
}

# plan_timed DIR CMD ID ARGS...: CMD (vsnd_play or vsnd_record) with the
# substream's START watched; a watcher still looking once CMD failed goes.
plan_timed() {
	local dir=$1 cmd=$2 id=$3 wpid rc
	shift 2
	vsnd_watch_start "$id" "$dir" &
	wpid=$!
	"$cmd" "$@"
	rc=$?
	[ $rc = 0 ] || kill $wpid 2>/dev/null
	wait $wpid
	return $rc
}

plan_play_dev() {
	local id=$1 dev=$2 saved=$VSND_PCM rc
	shift 2
	VSND_PCM=hw:$VSND_CARD,$dev
	vsnd_play "$id" "$1" "$2" "$3" "/in/$4"
	rc=$?
	VSND_PCM=$saved
	return $rc
}

plan_amixer() {
	local id=$1 rc
	shift
	amixer -q -c "$VSND_CARD" "$@" 2>"/tmp/$id.err"
	rc=$?
	vsnd_show_err "$id" "/tmp/$id.err"
	vsnd_mark "amixer id=$id rc=$rc"
	return $rc
}

plan_contents() {
	{
		amixer -c "$VSND_CARD" contents
		echo "--- /proc/asound/pcm"
		cat /proc/asound/pcm
	} >"/out/$1.txt" 2>&1
	vsnd_mark "contents id=$1 rc=0"
}

plan_cycles() {
	local kind=$1 id=$2 n=$3 k=1 fails=0
	shift 3
	while [ $k -le "$n" ]; do
		if [ "$kind" = play ]; then
			vsnd_play "$id-$k" "$1" "$2" "$3" "/in/$4" >/tmp/cycle.log || fails=$((fails + 1))
		else
			vsnd_record "$id-$k" "$1" "$2" "$3" "$4" >/tmp/cycle.log || fails=$((fails + 1))
		fi
		grep -v ' rc=0 ' /tmp/cycle.log
		k=$((k + 1))
	done
	vsnd_mark "cycles id=$id kind=$kind n=$n fails=$fails"
	[ $fails = 0 ] || plan_fail
}

# Waits up to 10 s for substream status file $1 to say RUNNING.
plan_wait_running() {
	local i=0 k v
	while [ $i -lt 1000 ]; do
		while read -r k v; do
			[ "$k $v" = "state: RUNNING" ] && return 0
		done <"$1" 2>/dev/null
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}

# One reload with both streams running: unbinding runs the driver's remove
# (snd_card_free disconnects the open PCMs, so aplay and arecord fail and
# close, then the device is reset), after which the module is unloaded and
# loaded again and must find the card. Only a missing card, a stream that
# never ran, or a failed rmmod/insmod is a failure: aplay and arecord are
# expected to end with an error. A stream the device never lets go of hangs
# the unbind, which the host's timeout reports.
plan_reload_once() {
	local id=$1 k=$2 fmt=$3 rate=$4 ch=$5 file=$6 d p c dev t0 t1
	d="/proc/asound/card$VSND_CARD/pcm$VSND_DEV"
	aplay -q -D "$VSND_PCM" -t raw -f "$fmt" -r "$rate" -c "$ch" "/in/$file" 2>/dev/null &
	p=$!
	arecord -q -D "$VSND_PCM" -t raw -f "$fmt" -r "$rate" -c "$ch" -d 60 /dev/null 2>/dev/null &
	c=$!
	plan_wait_running "${d}p/sub0/status" || vsnd_mark "error reload id=$id k=$k playback never ran"
	plan_wait_running "${d}c/sub0/status" || vsnd_mark "error reload id=$id k=$k capture never ran"
	# Vary the moment within the periods: 0 to 0.4 s more.
	sleep "0.$((k * 37 % 5))"
	for dev in /sys/bus/virtio/drivers/virtio_snd/virtio*; do :; done
	vsnd_clock
	t0=$VSND_NOW_US
	echo "${dev##*/}" >/sys/bus/virtio/drivers/virtio_snd/unbind
	vsnd_clock
	t1=$VSND_NOW_US
	wait $p
	wait $c
	rmmod virtio_snd || { vsnd_mark "error reload id=$id k=$k rmmod"; return 1; }
	insmod /lib/modules/vsnd/virtio_snd.ko || { vsnd_mark "error reload id=$id k=$k insmod"; return 1; }
	vsnd_find_card || { vsnd_mark "error reload id=$id k=$k no card after insmod"; return 1; }
	vsnd_mark "reload-cycle id=$id k=$k unbind_us=$((t1 - t0)) card=$VSND_CARD"
}

# alsabat plays and captures in one process: what an application hears back,
# both buffers included. It prints whole milliseconds per test and a mean.
plan_latency() {
	local id=$1 bufs= rc ms
	[ "$2" = 0 ] || bufs="-B $2 -E $3"
	if ! command -v alsabat >/dev/null; then
		vsnd_mark "latency id=$id rc=77 (no alsabat in this guest image)"
		return 0
	fi
	# shellcheck disable=SC2086
	alsabat -D "$VSND_PCM" --roundtriplatency -f S16_LE -r 48000 -c 2 $bufs \
		>"/out/$id.txt" 2>&1
	rc=$?
	ms=$(sed -n 's/^Final round trip latency: \([0-9]*\)ms.*/\1/p' "/out/$id.txt")
	vsnd_mark "latency id=$id rc=$rc ms=${ms:-none} tests=$(grep -c 'round trip latency' "/out/$id.txt")"
	return $rc
}

# hw:CARD,0 of the sound card on PCI slot $1 (two hex digits, QEMU's
# addr=0x$1) once it has probed: a guest with two sound devices (bench/).
pcm_at_slot() {
	local i=0 c
	while [ $i -lt 50 ]; do
		for c in /sys/class/sound/card*; do
			case "$(readlink -f "$c/device")" in
			*/0000:00:$1.0/*) echo "hw:${c##*/card},0"; return 0 ;;
			esac
		done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The card's clock as an application sees it: pcmclock plays silence for
# $2 seconds and logs "NS FRAMES" at each completed period (bench/ fits it),
# on the card at PCI slot $3 if given.
plan_pcmclock() {
	local id=$1 rc pcm=$VSND_PCM
	if ! command -v pcmclock >/dev/null; then
		vsnd_mark "pcmclock id=$id rc=77 (no pcmclock in this guest image)"
		return 0
	fi
	if [ -n "$3" ] && ! pcm=$(pcm_at_slot "$3"); then
		vsnd_mark "pcmclock id=$id rc=1 (no sound card on PCI slot $3)"
		return 1
	fi
	pcmclock "$pcm" "$2" >"/out/$id.txt" 2>"/out/$id.err"
	rc=$?
	vsnd_mark "pcmclock id=$id rc=$rc lines=$(wc -l <"/out/$id.txt")"
	return $rc
}

plan_reload() {
	local id=$1 n=$2 k=1 fails=0
	shift 2
	while [ $k -le "$n" ]; do
		plan_reload_once "$id" "$k" "$@" || fails=$((fails + 1))
		k=$((k + 1))
	done
	vsnd_mark "reload id=$id n=$n fails=$fails rc=$((fails > 0))"
	[ $fails = 0 ]
}

while read -r step a1 a2 a3 a4 a5 a6 _; do
	case "$step" in
	''|'#'*) ;;
	play) vsnd_play "$a1" "$a2" "$a3" "$a4" "/in/$a5" || plan_fail ;;
	record) vsnd_record "$a1" "$a2" "$a3" "$a4" "$a5" || plan_fail ;;
	play-timed) plan_timed p vsnd_play "$a1" "$a2" "$a3" "$a4" "/in/$a5" || plan_fail ;;
	record-timed) plan_timed c vsnd_record "$a1" "$a2" "$a3" "$a4" "$a5" || plan_fail ;;
	duplex) plan_duplex "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" ;;
	cycle-play) plan_cycles play "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" ;;
	cycle-record) plan_cycles record "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" ;;
	sleep) sleep "$a1" ;;
	selftest) plan_selftest "$a1" "$a2" ;;
	bufs) if [ "$a1" = 0 ]; then VSND_BUFS=; else VSND_BUFS="--period-size=$a1 --buffer-size=$a2"; fi ;;
	play-dev) plan_play_dev "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" || plan_fail ;;
	amixer) plan_amixer "$a1" $a2 $a3 $a4 $a5 || plan_fail ;;
	contents) plan_contents "$a1" ;;
	reload) plan_reload "$a1" "$a2" "$a3" "$a4" "$a5" "$a6" || plan_fail ;;
	latency) plan_latency "$a1" "$a2" "$a3" || plan_fail ;;
	pcmclock) plan_pcmclock "$a1" "$a2" "$a3" || plan_fail ;;
	wait-host) vsnd_mark "wait id=$a1"; sleep "$a2"; vsnd_mark "waited id=$a1 rc=0" ;;
	*) vsnd_mark "error unknown plan step $step"; plan_fail ;;
	esac
done </in/plan.txt
[ $plan_rc = 0 ]
