#!/usr/bin/env python3
"""Tests for the e2e harness's own checks: each must fail on the fault it is there
to catch (a lost tail, a shifted or corrupted stream, slow pacing, a driver error),
and pass on good audio. No QEMU needed; python3 standard library only."""

import os
import struct
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_audio as au  # noqa: E402
import e2e_guest as guest  # noqa: E402
import vsnd_e2e as e2e  # noqa: E402

S16 = au.Fmt('S16_LE', 48000, 2)
U8 = au.Fmt('U8', 22050, 1)


def noise(frames, fmt, seed=1):
    """Deterministic pseudo-random frames without a zero byte at the start."""
    out, x = bytearray(), seed
    for _ in range(frames * fmt.frame_bytes):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(((x >> 16) & 0xFF) | 1)
    return bytes(out)


def wav_bytes(data, fmt, tag=1, data_size=None, extensible=False):
    ba, bits = fmt.frame_bytes, fmt.sample_bytes * 8
    if extensible:
        fmt_body = struct.pack('<HHIIHHHHI', 0xFFFE, fmt.channels, fmt.rate, fmt.rate * ba, ba,
                               bits, 22, bits, 3) + struct.pack('<H', tag) + bytes(14)
    else:
        fmt_body = struct.pack('<HHIIHH', tag, fmt.channels, fmt.rate, fmt.rate * ba, ba, bits)
    size = len(data) if data_size is None else data_size
    body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt_body)) + fmt_body
    body += b'LIST' + struct.pack('<I', 4) + b'INFO'
    body += b'data' + struct.pack('<I', size) + data
    return b'RIFF' + struct.pack('<I', len(body)) + body


class FakeConsole(guest.Console):
    def __init__(self, lines):
        super().__init__()
        for line in lines:
            self.marks.append(self._parse(line))

    @staticmethod
    def _parse(line):
        m = guest.Console.MARK.search(line)
        rest = m.group(2).strip()
        return m.group(1), dict(kv.split('=', 1) for kv in rest.split() if '=' in kv), rest


class FakeCtx(e2e.Ctx):
    def __init__(self, outputs=(), marks=(), gout=None):
        self.outputs = [(Path(f'vsnd-out-0-{i}.wav'), au.Wav(1, 2, 48000, 16, d))
                        for i, d in enumerate(outputs)]
        self.console = FakeConsole(marks)
        self.gout = gout


class LocateTest(unittest.TestCase):
    def setUp(self):
        self.clip = noise(1000, S16)

    def test_whole_clip_with_silent_padding(self):
        m = au.locate(bytes(400) + self.clip + bytes(40), self.clip, S16)
        self.assertTrue(m.found)
        self.assertEqual((m.offset, m.lead, m.trail, m.lost), (100, 100, 10, 0))
        self.assertTrue(m.aligned and m.lead_silent and m.trail_silent)

    def test_lost_tail_is_counted(self):
        m = au.locate(bytes(400) + self.clip[:-60], self.clip, S16)
        self.assertFalse(m.found)
        self.assertEqual(m.lost, 15)
        self.assertEqual(m.where, 'output ends')

    def test_corruption_in_the_middle(self):
        bad = bytearray(self.clip)
        bad[2000] ^= 0xFF
        m = au.locate(bytes(bad) + bytes(400), self.clip, S16)
        self.assertFalse(m.found)
        self.assertEqual(m.matched, 500)
        self.assertIn('mismatch at clip frame 500', m.where)

    def test_misaligned_clip(self):
        m = au.locate(bytes(2) + self.clip, self.clip, S16)
        self.assertTrue(m.found)
        self.assertFalse(m.aligned)

    def test_noise_around_the_clip(self):
        m = au.locate(noise(10, S16, 7) + self.clip, self.clip, S16)
        self.assertFalse(m.lead_silent)

    def test_u8_silence_is_0x80(self):
        clip = noise(300, U8)
        self.assertTrue(au.locate(b'\x80' * 50 + clip, clip, U8).lead_silent)
        self.assertFalse(au.locate(bytes(50) + clip, clip, U8).lead_silent)

    def test_not_found(self):
        self.assertEqual(au.locate(noise(2000, S16, 9), self.clip, S16).offset, -1)

    def test_count_occurrences(self):
        hay = self.clip + bytes(8) + self.clip + bytes(2) + self.clip
        self.assertEqual(au.count_occurrences(hay, self.clip, S16), 2)


class WavTest(unittest.TestCase):
    def write(self, raw):
        fd, path = tempfile.mkstemp(suffix='.wav')
        os.write(fd, raw)
        os.close(fd)
        self.addCleanup(os.unlink, path)
        return path

    def test_plain_and_extensible_float(self):
        data = noise(10, S16)
        w = au.read_wav(self.write(wav_bytes(data, S16)))
        self.assertEqual((w.format_tag, w.channels, w.rate, w.bits, w.data), (1, 2, 48000, 16, data))
        w = au.read_wav(self.write(wav_bytes(data, au.Fmt('FLOAT_LE', 48000, 1), tag=3,
                                             extensible=True)))
        self.assertEqual((w.format_tag, w.bits, w.data), (3, 32, data))

    def test_unfinalised_header_takes_the_rest(self):
        data = noise(10, S16)
        w = au.read_wav(self.write(wav_bytes(data, S16, data_size=0)))
        self.assertEqual(w.data, data)
        self.assertIn('data size field 0', w.note)

    def test_not_a_wav(self):
        with self.assertRaises(ValueError):
            au.read_wav(self.write(b'RIFX' + bytes(40)))


class CheckPlayedTest(unittest.TestCase):
    def setUp(self):
        self.clip = noise(4800, S16)

    def test_pass_reports_zero_lost(self):
        ctx = FakeCtx([noise(100, S16, 3), bytes(40) + self.clip + bytes(400)])
        self.assertIn('frames lost: 0 of 4800', e2e.check_played(ctx, self.clip, S16, 'x'))

    def test_lost_tail_fails(self):
        ctx = FakeCtx([self.clip[:-4 * 7]])
        with self.assertRaisesRegex(e2e.Failure, 'frames lost: 7 of 4800'):
            e2e.check_played(ctx, self.clip, S16, 'x')

    def test_missing_fails(self):
        with self.assertRaisesRegex(e2e.Failure, 'frames lost: 4800 of 4800'):
            e2e.check_played(FakeCtx([bytes(1000)]), self.clip, S16, 'x')

    def test_long_padding_fails(self):
        pad = bytes(S16.frame_bytes * S16.rate)   # 1 s
        with self.assertRaisesRegex(e2e.Failure, 'padding over'):
            e2e.check_played(FakeCtx([pad + self.clip]), self.clip, S16, 'x')


class CheckRecordingTest(unittest.TestCase):
    def setUp(self):
        self.ref = noise(2000, S16)

    def test_prefix_passes(self):
        self.assertIn('1000 frames bit-exact', e2e.check_recording(self.ref[:4000], self.ref, S16, 'r'))

    def test_source_shorter_than_recording_then_silence(self):
        e2e.check_recording(self.ref + bytes(400), self.ref, S16, 'r')

    def test_shifted_by_one_frame_fails(self):
        with self.assertRaisesRegex(e2e.Failure, 'starts at recording frame 1'):
            e2e.check_recording(bytes(4) + self.ref[:3996], self.ref, S16, 'r')

    def test_dropout_fails(self):
        rec = bytearray(self.ref[:4000])
        rec[800:1200] = bytes(400)
        with self.assertRaisesRegex(e2e.Failure, 'differs from frame 200'):
            e2e.check_recording(bytes(rec), self.ref, S16, 'r')


class CaseTest(unittest.TestCase):
    def test_pacing_ratio(self):
        clip = noise(48000, S16)      # 1 s
        case = e2e.PacingCase('p', S16, clip)
        ok = FakeCtx([clip], ['@@vsnd play id=p rc=0 start_us=1 wall_us=1015000'])
        self.assertIn('ratio 1.0150', case.check(ok))
        slow = FakeCtx([clip], ['@@vsnd play id=p rc=0 start_us=1 wall_us=1030000'])
        with self.assertRaisesRegex(e2e.Failure, 'ratio 1.0300'):
            case.check(slow)
        fast = FakeCtx([clip], ['@@vsnd play id=p rc=0 start_us=1 wall_us=900000'])
        with self.assertRaisesRegex(e2e.Failure, 'ratio 0.9000'):
            case.check(fast)

    def test_failed_aplay_fails(self):
        clip = noise(480, S16)
        case = e2e.PlaybackCase('p', S16, clip)
        ctx = FakeCtx([clip], ['@@vsnd stderr id=p aplay: Input/output error',
                               '@@vsnd play id=p rc=1 start_us=1 wall_us=5'])
        with self.assertRaisesRegex(e2e.Failure, 'rc=1.*Input/output error'):
            case.check(ctx)

    def test_loopback_delay_from_start_times(self):
        with tempfile.TemporaryDirectory() as d:
            case = e2e.LoopbackCase.__new__(e2e.LoopbackCase)
            case.id, case.fmt, case.clip = 'lb', S16, noise(4800, S16)
            # The clip starts 100 ms into the recording; playback started 90 ms after
            # capture: 10 ms of delay.
            (Path(d) / 'lb-rec.raw').write_bytes(bytes(4 * 4800) + case.clip + bytes(400))
            ctx = FakeCtx([], ['@@vsnd play id=lb-play rc=0 start_us=5 wall_us=1',
                               '@@vsnd record id=lb-rec rc=0 start_us=1 wall_us=1',
                               '@@vsnd trigger id=lb play=10.590000000 capture=10.500000000'],
                          Path(d))
            self.assertIn('loopback delay 10.0 ms', case.check(ctx))
            (Path(d) / 'lb-rec.raw').write_bytes(bytes(4 * 4800) + case.clip[:-400])
            with self.assertRaisesRegex(e2e.Failure, 'frames lost: 100 of 4800'):
                case.check(ctx)


class SelftestVerdictTest(unittest.TestCase):
    """A pcm-test time mismatch is excused only at the drain-timeout model's time."""

    def tap(self, case, params, got):
        return (f'# {case} hw_params.RW_INTERLEAVED.S16_LE.{params} sw_params.4096\n'
                f'not ok 11 {case}\n# time mismatch: expected 2000ms got {got}\n')

    def test_drain_timeout_at_its_time_is_known(self):
        known, unknown = e2e.selftest_verdicts(
            self.tap('default.time4.C.2.0.PLAYBACK', '48000.2.512.4096', 2101))
        self.assertEqual(unknown, [])
        self.assertIn('predicts 2095', known[0])

    def test_late_device_or_whole_periods_or_capture_fail(self):
        for case, params, got in (('default.time4.C.2.0.PLAYBACK', '48000.2.512.4096', 2500),
                                  ('default.time5.C.2.0.PLAYBACK', '48000.2.24000.120000', 2200),
                                  ('default.time4.C.1.0.CAPTURE', '48000.2.512.4096', 2101)):
            known, unknown = e2e.selftest_verdicts(self.tap(case, params, got))
            self.assertEqual((known, len(unknown)), ([], 1), case)

    def test_other_failure_is_unknown(self):
        _, unknown = e2e.selftest_verdicts('not ok 3 event_missing.C.0.7\n')
        self.assertEqual(unknown, ['event_missing.C.0.7'])


class StaleTrailTest(unittest.TestCase):
    """The 6.1 driver's known limit: a few ms of the clip's own earlier audio
    after it, nothing else."""

    def test_only_short_earlier_audio_is_stale(self):
        clip = noise(30000, S16)  # one buffer, 24000 frames, and more
        fb = S16.frame_bytes
        pad = bytes(10 * fb)
        stale = clip[6010 * fb:6013 * fb]
        self.assertEqual(e2e.stale_trail(clip + pad + stale + pad, len(clip), clip, S16),
                         (3, 24000))
        other = clip[400 * fb:403 * fb]  # its own audio, but not one buffer old
        self.assertIsNone(e2e.stale_trail(clip + pad + other, len(clip), clip, S16))
        self.assertIsNone(e2e.stale_trail(clip + pad, len(clip), clip, S16))
        self.assertIsNone(e2e.stale_trail(clip + noise(3, S16, seed=9), len(clip), clip, S16))
        self.assertIsNone(e2e.stale_trail(clip + clip[:400 * fb], len(clip), clip, S16))


class DmesgTest(unittest.TestCase):
    def check(self, text):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / 'dmesg.txt').write_text(text)
            return e2e.check_dmesg(FakeCtx(gout=Path(d)))

    def test_errors_after_module_load_fail(self):
        base = '[1] ACPI: failed to frob (before the marker)\n[2] vsnd-guest: loading sound modules\n'
        self.assertIn('no error', self.check(base + '[3] virtio_blk virtio0: [vda] 8 blocks\n'))
        for line in ('virtio_snd virtio2: control message (0x0100) timeout',
                     'virtio_snd virtio2: SID 0: failed to send I/O message',
                     'snd_pcm: invalid I/O queue state'):
            with self.assertRaisesRegex(e2e.Failure, 'guest kernel log'):
                self.check(base + f'[3] {line}\n')


if __name__ == '__main__':
    unittest.main(verbosity=2)
