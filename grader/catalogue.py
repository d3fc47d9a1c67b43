"""The fixed text of the report templates in Korean, keyed by its English.

Templates write English and ask for it through `t("...")` (or `tn(n, one, many)` where
English needs a plural): the English is the key, so a template reads as what it shows
and a missing translation falls back to English instead of to nothing. Placeholders
(`{n}`) are filled after translation, and their values are escaped (markupsafe), so the
catalogue may hold markup (`<span class="mono">`) but nothing a student wrote can add
any. tests/test_i18n.py checks that every key the templates use is here.

One dict in one module instead of gettext catalogues: two languages, a few hundred
strings, no translators' tooling to serve, and no build step for .mo files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

KO: dict[str, str] = {
    # base.html
    "profile {profile}": "프로필 {profile}",
    "generated {when}": "생성 {when}",
    # student.html
    'Feedback for <span class="id">{student}</span>': '<span class="id">{student}</span> 학생의 채점 결과',
    "⚠ This notebook was graded WITHOUT a sandbox": "⚠ 이 노트북은 샌드박스 없이 채점되었습니다",
    "Your notebook ran without the usual isolation and resource limits. Ask your instructor if you did not "
    "expect this.": "노트북이 평소의 격리와 자원 제한 없이 실행되었습니다. 예상하지 못한 일이라면 강사에게 문의하세요.",
    "⚠ Smoke profile: synthetic data, scores are not meaningful for the class": (
        "⚠ smoke 프로필: 합성 데이터로 채점했으므로 점수에 의미가 없습니다"
    ),
    "This run used small generated data instead of the real data set, to check that the notebook runs. Do not "
    "use this score as a grade.": (
        "노트북이 실행되는지 확인하려고 실제 데이터 대신 작은 생성 데이터를 사용했습니다. "
        "이 점수를 성적으로 쓰지 마세요."
    ),
    "Profile {profile}: what this run used": "프로필 {profile}: 이번 채점에 사용한 것",
    "⚑ Flagged for review by a person": "⚑ 사람의 검토가 필요하다고 표시됨",
    "The grader found evidence that this notebook's account of its training does not match what it produced. "
    "No point was added or removed for this by itself; an instructor will look.": (
        "채점기가 이 노트북이 기록한 학습 과정과 실제로 만들어 낸 결과가 맞지 않는다는 증거를 찾았습니다. "
        "이것만으로 점수가 더해지거나 깎이지는 않으며, 강사가 직접 확인합니다."
    ),
    "✗ Your notebook could not be graded": "✗ 노트북을 채점할 수 없었습니다",
    "Your score is 0. Fix the problem above and submit again.": (
        "점수는 0점입니다. 위의 문제를 고친 뒤 다시 제출하세요."
    ),
    "score": "점수",
    "{pct}% of the automatic points": "자동 채점 점수의 {pct}%",
    "{n} of {m} checks passed": "검사 {m}개 중 {n}개 통과",
    "(some checks are not graded in this profile)": "(이 프로필에서 채점하지 않는 검사가 있습니다)",
    "Written answers:": "서술형 답안:",
    "+{points} scored by hand": "직접 채점 +{points}점",
    "{n} pending manual score": "{n}개 채점 대기 중",
    "Checks": "검사",
    "Check": "검사",
    "Points": "점수",
    "Status": "상태",
    "What the check found": "검사 결과",
    "hidden check: only its message is shown": "비공개 검사: 메시지만 보여 줍니다",
    "hidden": "비공개",
    "public check: you have its code": "공개 검사: 코드가 학생에게 주어졌습니다",
    "public": "공개",
    "measured by the grader itself, from your model's saved architecture and weights, on its own copy of the "
    "data": "채점기가 저장된 모델 구조와 가중치로 자신의 데이터 사본에서 직접 측정했습니다",
    "verified": "직접 측정",
    "rests on what your notebook's kernel recorded about its run (its trace, histories, model descriptions)": (
        "노트북 커널이 실행에 대해 기록한 내용(실행 기록, 학습 기록, 모델 설명)에 근거합니다"
    ),
    "from your run's record": "실행 기록 기준",
    "(no message)": "(메시지 없음)",
    "Public checks are the tests you were given; run them yourself with pytest. Hidden checks run only in the "
    "grader: you see their name and message, not their code.": (
        "공개 검사는 여러분이 받은 테스트이며 pytest로 직접 실행해 볼 수 있습니다. 비공개 검사는 채점기에서만 "
        "실행되며, 이름과 메시지만 보이고 코드는 보이지 않습니다."
    ),
    "No checks ran, because the notebook could not be graded.": "노트북을 채점할 수 없어서 검사를 실행하지 않았습니다.",
    "Cells that raised an error or were stopped": "오류가 나거나 중단된 셀",
    "Names defined after these points may be missing, which can make later checks fail. Cells are numbered as "
    'Jupyter numbers them after Kernel &gt; Restart &amp; Run All (<span class="mono">In [7]</span>), with their '
    "first line.": (
        "이 지점 이후에 정의되는 이름이 없을 수 있어 뒤의 검사가 실패할 수 있습니다. 셀 번호는 Jupyter에서 "
        'Kernel &gt; Restart &amp; Run All 후에 붙는 번호(<span class="mono">In [7]</span>)와 첫 줄로 표시합니다.'
    ),
    "Cell": "셀",
    "What happened": "발생한 일",
    "Error": "오류",
    "Message": "메시지",
    "cell": "셀",
    "cell {n}": "{n}번째 셀",
    "raised an error": "오류 발생",
    "timed out": "시간 초과",
    "not run": "실행 안 됨",
    "What happened while grading": "채점 중에 있었던 일",
    "Written answers": "서술형 답안",
    "pending manual score": "채점 대기 중",
    "<strong>{points}</strong> points (scored by hand)": "<strong>{points}</strong>점 (직접 채점)",
    "No cell is marked answer:{id}. Shown instead, for the person grading:{what}. They may or may not be the answer.": (
        "answer:{id} 표시가 된 셀이 없습니다. 채점하는 사람을 위해 대신 보여 줍니다: {what}. 답안이 아닐 수도 있습니다."
    ),
    "(no answer written)": "(작성한 답안 없음)",
    "About this run": "이번 채점 정보",
    "Profile": "프로필",
    "(synthetic data)": "(합성 데이터)",
    "Sandbox": "샌드박스",
    "on": "사용",
    "OFF — graded without a sandbox": "꺼짐 — 샌드박스 없이 채점함",
    "Time spent": "걸린 시간",
    "{s} s in total": "모두 {s}초",
    ", {s} s running the notebook": ", 노트북 실행 {s}초",
    "Submitted file": "제출한 파일",
    "Assignment version": "과제 버전",
    "tests {digest}": "테스트 {digest}",
    "Submission digest": "제출물 다이제스트",
    "Random seed": "난수 시드",
    "Generated": "생성 시각",
    "{n} cell raised an error or was stopped": "셀 {n}개에서 오류가 나거나 실행이 중단됨",
    "{n} cells raised an error or were stopped": "셀 {n}개에서 오류가 나거나 실행이 중단됨",
    # summary.html
    "Class summary": "반 전체 요약",
    "⚠ All submissions graded WITHOUT a sandbox": "⚠ 모든 제출물을 샌드박스 없이 채점했습니다",
    "⚠ {n} submission graded WITHOUT a sandbox": "⚠ 제출물 {n}개를 샌드박스 없이 채점했습니다",
    "⚠ {n} submissions graded WITHOUT a sandbox": "⚠ 제출물 {n}개를 샌드박스 없이 채점했습니다",
    "Student code ran with the grader's own permissions (this run was started with the sandbox off).": (
        "학생 코드가 채점기와 같은 권한으로 실행되었습니다 (이번 채점은 샌드박스를 끄고 시작했습니다)."
    ),
    "Student code ran with the grader's own permissions.": "학생 코드가 채점기와 같은 권한으로 실행되었습니다.",
    "This run used small generated data to check that notebooks run. Do not use these scores as grades.": (
        "노트북이 실행되는지 확인하려고 작은 생성 데이터를 사용했습니다. 이 점수를 성적으로 쓰지 마세요."
    ),
    "submissions": "제출물",
    "graded": "채점 완료",
    "could not be graded": "채점 불가",
    "mean score": "평균 점수",
    "median": "중앙값",
    "lowest – highest": "최저 – 최고",
    "answers pending manual score": "채점 대기 중인 답안",
    "flagged for review": "검토 표시",
    "Score statistics cover the {n} graded submission.": "점수 통계는 채점된 제출물 {n}개를 대상으로 합니다.",
    "Score statistics cover the {n} graded submissions.": "점수 통계는 채점된 제출물 {n}개를 대상으로 합니다.",
    "The {n} that could not be graded score 0 and are left out.": "채점할 수 없었던 {n}개는 0점이며 통계에서 뺐습니다.",
    "Maximum scores differ between submissions.": "제출물마다 만점이 다릅니다.",
    "Manual scores for written answers are not included.": "서술형 답안의 직접 채점 점수는 포함하지 않았습니다.",
    "Score distribution": "점수 분포",
    "score (points out of {max})": "점수 ({max}점 만점)",
    "Number of graded submissions at each score.": "점수별 채점된 제출물 수입니다.",
    "The {n} that could not be graded are not in it.": "채점할 수 없었던 {n}개는 들어 있지 않습니다.",
    "The dashed line is the mean, {mean}.": "점선은 평균 {mean}점입니다.",
    "Could not be graded": "채점할 수 없었던 제출물",
    "{n} of {m} graded submissions": "채점된 제출물 {m}개 중 {n}개",
    "Student": "학생",
    "Reason": "이유",
    "Flagged for review": "검토가 필요한 제출물",
    "The grader found evidence that these notebooks' account of what they did does not match what they "
    "produced. For a person to review: a flag by itself adds or removes no point.": (
        "채점기가 이 노트북들이 기록한 과정과 실제로 만들어 낸 결과가 맞지 않는다는 증거를 찾았습니다. "
        "사람이 검토할 일이며, 표시만으로 점수가 더해지거나 깎이지는 않습니다."
    ),
    "Why": "이유",
    "and {n} more on the student's page": "그 밖의 {n}개는 학생 페이지에 있습니다",
    'Answers a person scores (markdown cells tagged <span class="mono">answer:&lt;id&gt;</span>).': (
        '사람이 채점하는 답안입니다 (<span class="mono">answer:&lt;id&gt;</span> 표시가 된 마크다운 셀).'
    ),
    'Score them in a CSV (<span class="mono">student,answer,score[,max,comment]</span>), then <span '
    'class="mono">grade scores import marks.csv --assignment assignments/{name}</span> and run <span '
    'class="mono">grade</span> again to refresh these pages.': (
        'CSV(<span class="mono">student,answer,score[,max,comment]</span>)에 점수를 적은 뒤 <span class="mono">'
        "grade scores import marks.csv --assignment assignments/{name}</span>을 실행하고, "
        '<span class="mono">grade</span>를 다시 실행하면 이 페이지가 갱신됩니다.'
    ),
    "Answer": "답안",
    "Pending": "대기",
    "Scored": "채점됨",
    "Waiting for a score": "채점을 기다리는 학생",
    "and {n} more": "외 {n}명",
    "all scored": "모두 채점됨",
    "Ignored files": "무시한 파일",
    '{n} file in the submissions folder is not a submission (only <span class="mono">&lt;id&gt;.ipynb'
    '</span>, <span class="mono">&lt;id&gt;.zip</span> and folders <span class="mono">&lt;id&gt;/</span> are; a '
    '<span class="mono">.py</span> file is refused with its reason) and no student was made of it:': (
        '제출 폴더의 아래 파일 {n}개는 제출물이 아니어서 학생으로 만들지 않았습니다 (제출물은 <span class="mono">'
        '&lt;id&gt;.ipynb</span>, <span class="mono">&lt;id&gt;.zip</span>, <span class="mono">&lt;id&gt;/</span> '
        '폴더뿐이며, <span class="mono">.py</span> 파일은 이유와 함께 거부합니다):'
    ),
    '{n} files in the submissions folder are not a submission (only <span class="mono">&lt;id&gt;.ipynb'
    '</span>, <span class="mono">&lt;id&gt;.zip</span> and folders <span class="mono">&lt;id&gt;/</span> are; a '
    '<span class="mono">.py</span> file is refused with its reason) and no student was made of them:': (
        '제출 폴더의 아래 파일 {n}개는 제출물이 아니어서 학생으로 만들지 않았습니다 (제출물은 <span class="mono">'
        '&lt;id&gt;.ipynb</span>, <span class="mono">&lt;id&gt;.zip</span>, <span class="mono">&lt;id&gt;/</span> '
        '폴더뿐이며, <span class="mono">.py</span> 파일은 이유와 함께 거부합니다):'
    ),
    "Data sets": "데이터셋",
    "No data set was served.": "제공한 데이터셋이 없습니다.",
    "What else the profile changed": "프로필이 바꾼 그 밖의 것",
    "Nothing else: no epoch was capped.": "없음: 에포크를 줄이지 않았습니다.",
    "Nothing to report: no data set was served and no epoch was capped.": (
        "알릴 것이 없습니다: 제공한 데이터셋이 없고 에포크도 줄이지 않았습니다."
    ),
    "Nothing to report: no data set was served and no epoch was capped (no submission was graded).": (
        "알릴 것이 없습니다: 제공한 데이터셋이 없고 에포크도 줄이지 않았습니다 (채점된 제출물이 없습니다)."
    ),
    "Checks: where the class loses points": "검사별: 학생들이 점수를 잃는 곳",
    "Passed": "통과",
    "Partial": "부분 점수",
    "Mean points": "평균 점수",
    "Losing points": "감점 비율",
    "Pass rate": "통과율",
    "{pct}% of graded submissions earned less than full points": "채점된 제출물의 {pct}%가 만점을 받지 못했습니다",
    "share of graded submissions that passed this check in full": "이 검사를 만점으로 통과한 채점된 제출물의 비율",
    "not graded in this run": "이번 채점에서 채점하지 않음",
    "Students": "학생",
    "Score": "점수",
    "Checks passed": "통과한 검사",
    "Cell errors": "셀 오류",
    "Time": "시간",
    "{n} pending": "{n}개 대기",
    "Similar submissions": "비슷한 제출물",
    "Pairs of notebooks whose code is alike beyond the starter notebook's code, which everyone has: names, "
    "numbers, strings, comments and spacing are ignored, so renaming variables does not hide a copy. The score "
    "is the share of the smaller notebook's code fingerprints that the other one has too. <strong>For a person "
    "to judge; never a penalty</strong>: no score changes because of it, and the one obvious way to write a "
    "short answer, or work together as the course allows, looks alike too.": (
        "모두가 가진 시작 노트북의 코드를 빼고도 코드가 비슷한 노트북 쌍입니다. 이름, 숫자, 문자열, 주석, "
        "공백은 무시하므로 변수 이름을 바꿔도 복사한 코드가 드러납니다. 비율은 작은 노트북의 코드 지문 중 "
        "다른 노트북에도 있는 것의 비율입니다. <strong>사람이 판단할 자료일 뿐 감점이 아닙니다</strong>: "
        "이것 때문에 바뀌는 점수는 없으며, 짧은 답을 쓰는 뻔한 방법이나 수업이 허용하는 협업도 비슷해 보입니다."
    ),
    "No pair of the {n} submissions compared is {pct}% alike or more once the starter's code is left out.": (
        "시작 노트북의 코드를 빼면, 비교한 제출물 {n}개 중 {pct}% 이상 비슷한 쌍은 없습니다."
    ),
    "No pair of the {n} submissions compared is {pct}% alike or more.": (
        "비교한 제출물 {n}개 중 {pct}% 이상 비슷한 쌍은 없습니다."
    ),
    "{n} pair of the {m} submissions is {pct}% alike or more.": "제출물 {m}개 중 {n}쌍이 {pct}% 이상 비슷합니다.",
    "{n} pairs of the {m} submissions are {pct}% alike or more.": "제출물 {m}개 중 {n}쌍이 {pct}% 이상 비슷합니다.",
    "The starter notebook could not be read, so its code is not left out.": (
        "시작 노트북을 읽을 수 없어서 그 코드를 빼지 않았습니다."
    ),
    "The {n} most alike are shown.": "가장 비슷한 {n}쌍을 보여 줍니다.",
    "alike · Jaccard {pct}% · {n} shared fingerprints": "비슷함 · Jaccard {pct}% · 공통 지문 {n}개",
    "{n} longest shared passage below": "가장 긴 공통 구간 {n}개가 아래에 있습니다",
    "{n} longest shared passages below": "가장 긴 공통 구간 {n}개가 아래에 있습니다",
    "{n} more pair over the threshold is not shown.": "기준을 넘는 {n}쌍은 더 보여 주지 않았습니다.",
    "{n} more pairs over the threshold are not shown.": "기준을 넘는 {n}쌍은 더 보여 주지 않았습니다.",
    # GPU slots (grader/gpus.py): student.html and summary.html
    "GPU memory": "GPU 메모리",
    "peak {peak} MB on GPU {device} (TensorFlow limit {limit} MB per kernel)": (
        "GPU {device}에서 최대 {peak} MB (커널당 TensorFlow 한도 {limit} MB)"
    ),
    "not measured on GPU {device} (nvidia-smi did not answer)": "GPU {device}: 재지 못함 (nvidia-smi 응답 없음)",
    "over its share of {share} MB, so the kernel was stopped": "몫 {share} MB를 넘어서 커널을 멈췄습니다",
    "GPU memory (peak)": "GPU 메모리 (최대)",
}

# Phrases the grader writes into stored text that a template shows (grader.answers'
# fallback answer head), so a page in Korean can show them in Korean.
PHRASES_KO: dict[str, str] = {
    " the student's own markdown cells after the question": " 질문 뒤에 학생이 쓴 마크다운 셀",
    " all the markdown cells the student wrote (none after the question)": (
        " 학생이 쓴 모든 마크다운 셀 (질문 뒤에는 없음)"
    ),
}


def translator(lang: str) -> tuple[Callable[..., Markup], Callable[..., Markup], Callable[[str], str]]:
    """The template functions for `lang`: t(en, **values), tn(n, one, many, **values)
    and phrase(text). `t` and `tn` are for the template's own literal text only: their
    result is markup, with the values escaped."""

    def t(en: str, **values: Any) -> Markup:
        text = KO.get(en, en) if lang == "ko" else en
        return Markup(text).format(**values) if values else Markup(text)

    def tn(n: int, one: str, many: str, **values: Any) -> Markup:
        return t(one if n == 1 else many, n=n, **values)

    def phrase(text: str) -> str:
        return PHRASES_KO.get(text, text) if lang == "ko" else text

    return t, tn, phrase


__all__ = ["KO", "PHRASES_KO", "translator"]
