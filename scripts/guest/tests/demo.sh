# The newcomer demo: plays the image's own 12 s tone, then records 3 s; the host
# compares both with what vsnd wrote and read.
# A first aplay under TCG also pays for translating aplay and libasound (~0.2 s):
# warm up with a tenth of a second of silence so the timed run measures the device.
head -c 19200 /dev/zero >/tmp/warmup.raw
vsnd_play demo-warmup S16_LE 48000 2 /tmp/warmup.raw >/dev/null
vsnd_play demo-play S16_LE 48000 2 /share/demo-tone.raw
demo_rc=$?
vsnd_record demo-rec S16_LE 48000 2 144000 || demo_rc=1
[ $demo_rc = 0 ]
