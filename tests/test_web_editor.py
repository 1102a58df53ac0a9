"""The correction editor's endpoints through Starlette's TestClient: roles, CSRF, saves, Range."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from pilots import db
from pilots.tables import AsrJob, WebJob
from pilots.web import queue
from tests import test_web_app
from tests.test_web_app import Web, _jobs

# The web app's fixtures: a fresh app per test, its users, a short recording.
web = test_web_app.web
users = test_web_app.users
clip = test_web_app.clip

SEGMENTS = [
    {"start": 0.0, "end": 2.0, "text": "LG1の更新です。", "flags": [], "words": [
        {"start": 0.0, "end": 0.8, "text": "LG1", "probability": 0.2},
        {"start": 0.8, "end": 2.0, "text": "の更新です", "probability": 0.9}]},
    {"start": 2.0, "end": 4.0, "text": "<script>alert(1)</script>", "flags": [
        {"kind": "silence", "reason": "無音・雑音の区間に文字が出ています"}], "words": []},
    {"start": 4.0, "end": 6.0, "text": "以上です。", "flags": [], "words": []},
]  # fmt: skip


def _finish(web: Web, job_id: int) -> int:
    """Complete a queued job as the worker does, with the draft's segments kept."""
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        claim = queue.claim(session, "test")
        assert claim is not None and claim.job_id == job_id
        asr = AsrJob(source="pilots", title="定例", meeting_date=date(2019, 7, 10),
                     audio_seconds=6.0, outputs="[]", draft_json=json.dumps(SEGMENTS))  # fmt: skip
        session.add(asr)
        session.flush()
        assert queue.complete(session, claim, {"txt": "本文\n".encode()}, asr.id)
        asr_id = asr.id
    engine.dispose()
    return asr_id


def _job(web: Web, recording: bytes, name: str = "定例.wav", dept: str = "総務課") -> int:
    web.post("/minutes", {"department": dept}, [("audio", (name, recording))])
    job = next(j for j in _jobs(web) if j.original_name == name)
    _finish(web, job.id)
    return job.id


def _save(web: Web, job_id: int, body: dict[str, object], token: str | None = None) -> object:
    return web.client.post(
        f"/minutes/{job_id}/edit/save",
        json=body,
        headers={"X-CSRF-Token": token if token is not None else web.token("/minutes")},
    )


def test_the_editor_page_shows_the_draft_escaped_with_flags_and_marks(
    web: Web, clip: bytes
) -> None:
    job_id = _job(web, clip)
    assert f'href="/minutes/{job_id}/edit"' in web.client.get("/minutes").text
    page = web.client.get(f"/minutes/{job_id}/edit")
    assert page.status_code == 200
    text = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    assert "要確認 1件・不確かな語 1語" in text
    assert '<mark class="unsure" title="確からしさ 20%">LG1</mark>の更新です。' in text
    assert 'data-mime="audio/wav; codecs=&#34;1&#34;"' in text
    assert "Alt</kbd>+<kbd>K" in text  # the shortcuts are listed on the page


def test_saves_need_the_token_and_the_current_version(web: Web, clip: bytes) -> None:
    job_id = _job(web, clip)
    web.client.get(f"/minutes/{job_id}/edit")
    op = {"op": "text", "id": "u0", "text": "LGWANの更新です。"}
    refused = _save(web, job_id, {"version": 0, "tab": "a", "ops": [op]}, token="wrong")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    saved = _save(web, job_id, {"version": 0, "tab": "a", "ops": [op], "moments": [1_000]})
    assert saved.json()["version"] == 1  # type: ignore[attr-defined]
    stale = _save(web, job_id, {"version": 0, "tab": "b", "ops": [op], "now": 2_000})
    assert stale.status_code == 409  # type: ignore[attr-defined]
    answer = stale.json()  # type: ignore[attr-defined]
    assert answer["version"] == 1 and "別のタブまたは別の人" in answer["message"]
    assert answer["others"] == 1  # tab a was active a second ago
    bad = _save(web, job_id, {"version": 1, "tab": "a", "ops": [{"op": "text", "id": "zz"}]})
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "LGWANの更新です。" in web.client.get(f"/minutes/{job_id}/edit").text


def test_the_recording_is_served_with_range_requests(web: Web, clip: bytes) -> None:
    job_id = _job(web, clip)
    whole = web.client.get(f"/minutes/{job_id}/edit/audio")
    assert whole.status_code == 200 and whole.content == clip
    assert whole.headers["accept-ranges"] == "bytes"
    part = web.client.get(f"/minutes/{job_id}/edit/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(clip)}"
    assert part.content == clip[100:200]
    assert part.headers["content-type"] == "audio/wav"


def test_a_clerk_of_another_department_gets_404_for_the_page_the_audio_and_saves(
    web: Web, users: object, clip: bytes
) -> None:
    web.login("admin1", "admin-pass-1")
    job_id = _job(web, clip, "人事.wav", "人事課")
    web.post("/logout", token_from="/")
    web.login("clerk1", "clerk-pass-1")
    for path in ("edit", "edit/audio", "edit/download/docx"):
        assert web.client.get(f"/minutes/{job_id}/{path}").status_code == 404, path
    saved = _save(web, job_id, {"version": 0, "tab": "a", "ops": []})
    assert saved.status_code == 404  # type: ignore[attr-defined]


def test_a_deleted_recording_leaves_the_text_editable(web: Web, clip: bytes) -> None:
    job_id = _job(web, clip)
    web.post(f"/minutes/jobs/{job_id}/recording/delete", token_from="/minutes")
    page = web.client.get(f"/minutes/{job_id}/edit").text
    assert "録音は削除されました" in page and "<audio" not in page
    assert web.client.get(f"/minutes/{job_id}/edit/audio").status_code == 404
    op = {"op": "text", "id": "u2", "text": "以上で終わります。"}
    assert _save(web, job_id, {"version": 0, "tab": "a", "ops": [op]}).status_code == 200  # type: ignore[attr-defined]


def _wma(path: Path, source: bytes) -> bytes:
    """The clip as Windows Media Audio, which browsers do not play (PyAV's wmav2 encoder)."""
    import av

    wav = path.with_suffix(".wav")
    wav.write_bytes(source)
    with av.open(str(wav)) as inp, av.open(str(path), "w", format="asf") as out:
        stream = out.add_stream("wmav2", rate=16_000, layout="mono")
        stream.bit_rate = 32_000
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16_000)
        for frame in inp.decode(audio=0):
            frame.pts = None
            for piece in resampler.resample(frame):
                out.mux(stream.encode(piece))
        out.mux(stream.encode(None))
    return path.read_bytes()


def test_a_recording_browsers_cannot_play_gets_a_playable_copy_once(
    web: Web, clip: bytes, tmp_path: Path
) -> None:
    job_id = _job(web, _wma(tmp_path / "ic.wma", clip), "ICレコーダー.wma")
    page = web.client.get(f"/minutes/{job_id}/edit").text
    assert 'data-mime="audio/x-wmav2"' in page  # canPlayType says no: the page asks for the copy
    copy = web.client.get(f"/minutes/{job_id}/edit/audio?copy=play")
    assert copy.status_code == 200 and copy.headers["content-type"] == "audio/mpeg"
    import io

    import av

    with av.open(io.BytesIO(copy.content)) as played:
        assert played.streams.audio[0].codec_context.name.startswith("mp3")
        assert float(played.duration or 0) / 1e6 == pytest.approx(2.0, abs=0.3)
    copies = list((web.data_dir / "uploads").glob("*.play.mp3"))
    assert len(copies) == 1
    ranged = web.client.get(
        f"/minutes/{job_id}/edit/audio?copy=play", headers={"Range": "bytes=0-9"}
    )
    assert ranged.status_code == 206
    # The copy is personal data like the recording: deleting one deletes both.
    web.post(f"/minutes/jobs/{job_id}/recording/delete", token_from="/minutes")
    assert list((web.data_dir / "uploads").glob("*")) == []


def test_an_existing_copy_is_served_while_another_recording_is_converted(
    web: Web, clip: bytes, tmp_path: Path
) -> None:
    # One copy is made at a time; a request for a copy made long ago waited behind the
    # conversion of another recording (a minute for a long meeting) before playing.
    import threading

    from pilots.web import playback

    job_id = _job(web, _wma(tmp_path / "ic.wma", clip), "ICレコーダー.wma")
    assert web.client.get(f"/minutes/{job_id}/edit/audio?copy=play").status_code == 200
    answers: list[int] = []

    def seek() -> None:
        ranged = web.client.get(
            f"/minutes/{job_id}/edit/audio?copy=play", headers={"Range": "bytes=100-199"}
        )
        answers.append(ranged.status_code)

    with playback._LOCK:  # another recording is being converted
        asking = threading.Thread(target=seek)
        asking.start()
        asking.join(timeout=10)
        waited = asking.is_alive()
    asking.join()
    assert not waited and answers == [206]


def test_seeking_does_not_open_the_recording_again(
    web: Web, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The player asks for the recording with an HTTP Range request at every seek; each
    # request opened the whole file with PyAV to name its media type.
    import av

    job_id = _job(web, clip)
    assert web.client.get(f"/minutes/{job_id}/edit").status_code == 200
    opened: list[str] = []
    real_open = av.open

    def counting_open(*args: object, **kwargs: object) -> object:
        opened.append(str(args[0]))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    for start in (0, 1000, 2000):
        ranged = web.client.get(
            f"/minutes/{job_id}/edit/audio", headers={"Range": f"bytes={start}-{start + 99}"}
        )
        assert ranged.status_code == 206 and ranged.headers["content-type"] == "audio/wav"
    assert opened == []


def test_finish_needs_a_form_token_and_freezes_the_text(web: Web, clip: bytes) -> None:
    job_id = _job(web, clip)
    web.client.get(f"/minutes/{job_id}/edit")
    refused = web.client.post(f"/minutes/{job_id}/edit/finish", data={"csrf_token": "x"})
    assert refused.status_code == 403
    op = {"op": "text", "id": "u0", "text": "LGWANの更新です。"}
    _save(web, job_id, {"version": 0, "tab": "a", "ops": [op], "moments": [1_000, 61_000]})
    done = web.post(f"/minutes/{job_id}/edit/finish", {"tab": "a"}, token_from="/minutes")
    assert "修正完了を記録しました（修正時間 1.0分、エディタで計測）" in done.text  # type: ignore[attr-defined]
    assert 'contenteditable="plaintext-only"' not in done.text  # type: ignore[attr-defined]
    frozen = _save(web, job_id, {"version": 2, "tab": "a", "ops": [op]})
    assert frozen.status_code == 409 and frozen.json()["finished"]  # type: ignore[attr-defined]
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        asr_id = session.scalar(select(WebJob.asr_job_id).where(WebJob.id == job_id))
        asr = session.get(AsrJob, asr_id)
        assert asr is not None and asr.correction_source == "editor"
        assert asr.correction_minutes == pytest.approx(1.0)
        # LG1 → LGWAN: 1 substitution, and 2 characters the draft left out (deletions),
        # over the corrected text's 36 characters.
        assert (asr.edit_substitutions, asr.edit_insertions, asr.edit_deletions) == (1, 0, 2)
        assert asr.cer == pytest.approx(3 / 36)
    engine.dispose()
    txt = web.client.get(f"/minutes/{job_id}/edit/download/txt")
    assert txt.status_code == 200 and txt.text.startswith("LGWANの更新です。\n")
    assert re.search(r"filename\*=UTF-8''.*%E4%BF%AE%E6%AD%A3%E7%89%88\.txt",
                     txt.headers["content-disposition"])  # fmt: skip
