"""Prompt catalogs and risk lexicons, checked for every language found in i18n/catalogs/.

Languages are discovered from the directory, so adding a language is adding its catalog file;
the checks below then hold it to the same rules as Japanese (the source of truth): every key,
the same placeholders, labels that fit LINE's quick-reply limit, versioned consent wordings and
risk terms for every kind, proven on realistic sentences in that language.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from i18n.catalog import CATALOG_DIR, CONSENT_KINDS, catalog, placeholders
from i18n.risk import KINDS, lexicon, screen

REFERENCE = "ja"
LINE_LABEL_LIMIT = 20  # LINE quick-reply action label, counted in characters
LANGUAGES = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))
TRANSLATED = [lang for lang in LANGUAGES if lang != REFERENCE]


def _load(lang: str) -> dict[str, Any]:
    with (CATALOG_DIR / f"{lang}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _source_keys(lang: str, section: str) -> set[str]:
    """Keys of a section as written in the file. yaml.safe_load turns an unquoted `yes:` into
    the boolean True; reading the node tree keeps the spelling so such a key is still compared
    by name (test_choice_keys_load_as_strings reports the loading problem itself)."""
    with (CATALOG_DIR / f"{lang}.yaml").open(encoding="utf-8") as fh:
        root = yaml.compose(fh)
    assert isinstance(root, yaml.MappingNode), f"{lang}.yaml is not a mapping"
    for key_node, value_node in root.value:
        if key_node.value == section:
            assert isinstance(value_node, yaml.MappingNode), (
                f"{lang}.yaml: {section} is not a mapping"
            )
            return {k.value for k, _ in value_node.value}
    return set()


def _strings(lang: str, section: str) -> dict[str, str]:
    return {str(k): v for k, v in (_load(lang).get(section) or {}).items()}


def test_languages_discovered() -> None:
    # The minimum set; more files are welcome and are checked the same way.
    required = {
        "ja",
        "ja-easy",
        "en",
        "zh-Hans",
        "zh-Hant",
        "ko",
        "vi",
        "tl",
        "pt-BR",
        "ne",
        "id",
        "es",
        "th",
        "my",
    }
    assert required <= set(LANGUAGES), sorted(required - set(LANGUAGES))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_header(lang: str) -> None:
    data = _load(lang)
    assert data.get("language") == lang, "the language field must equal the file name"
    name = data.get("name")
    assert isinstance(name, str) and name.strip(), "the language's own name is required"
    # The name is what a language-picker button shows.
    assert len(name) <= LINE_LABEL_LIMIT, name
    assert catalog(lang).language == lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_choice_keys_load_as_strings(lang: str) -> None:
    # An unquoted yes/no/on/off key silently becomes a boolean, and the label is then never found.
    raw = _load(lang).get("choices") or {}
    bad = [k for k in raw if not isinstance(k, str)]
    assert not bad, f"{lang}.yaml: quote these choice keys, YAML read them as {bad!r}"
    assert catalog(lang).label("yes") == raw["yes"]
    assert catalog(lang).label("no") == raw["no"]


@pytest.mark.parametrize("section", ["texts", "choices"])
@pytest.mark.parametrize("lang", TRANSLATED)
def test_same_keys_as_reference(lang: str, section: str) -> None:
    want = _source_keys(REFERENCE, section)
    have = _source_keys(lang, section)
    assert want, f"{REFERENCE}.yaml has no {section}"
    assert not want - have, f"{lang}: missing {section} keys {sorted(want - have)}"
    assert not have - want, (
        f"{lang}: {section} keys unknown to {REFERENCE}.yaml {sorted(have - want)}"
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_match_reference(lang: str) -> None:
    ref = _strings(REFERENCE, "texts")
    texts = _strings(lang, "texts")
    for key, ref_text in ref.items():
        if key in texts:
            assert placeholders(texts[key]) == placeholders(ref_text), f"{lang}: {key}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_empty_strings(lang: str) -> None:
    for section in ("texts", "choices"):
        for key, value in _strings(lang, section).items():
            assert isinstance(value, str), (
                f"{lang}: {section}.{key} is {type(value).__name__}, not text"
            )
            assert value.strip(), f"{lang}: {section}.{key} is empty"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_choice_labels_fit_line_quick_reply(lang: str) -> None:
    too_long = {
        k: (v, len(v)) for k, v in _strings(lang, "choices").items() if len(v) > LINE_LABEL_LIMIT
    }
    assert not too_long, f"{lang}: labels over {LINE_LABEL_LIMIT} characters: {too_long}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_choice_labels_distinct_within_a_question(lang: str) -> None:
    # Two buttons of one question with the same label cannot be told apart.
    groups = [
        ("agree", "decline", "more"),
        ("danger", "no_shelter", "no_food", "none", "done"),
        (
            "money",
            "debt",
            "job",
            "housing",
            "homeless",
            "food",
            "health",
            "family",
            "children",
            "single_parent",
            "isolation",
            "welfare",
            "other",
            "done",
        ),
        ("under_20", "20s", "30s", "40s", "50s", "60s", "70_plus", "skip"),
        ("alone", "with_family", "with_children", "other_household", "skip"),
        ("lives_here", "staying_here", "neither", "skip"),
        ("this_channel", "phone", "email", "skip"),
        ("morning", "afternoon", "anytime", "skip"),
        ("self", "relative", "supporter"),
        ("confirm", "change", "human"),
        (
            "change.categories",
            "change.problem_detail",
            "change.attributes",
            "change.contact",
            "change.share",
        ),
        ("continue", "restart"),
    ]
    labels = _strings(lang, "choices")
    for group in groups:
        shown = [labels[k] for k in group if k in labels]
        assert len(shown) == len(set(shown)), f"{lang}: duplicate labels in {group}: {shown}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_consent_wordings_versioned(lang: str) -> None:
    versions = _load(lang).get("consent_versions") or {}
    texts = _strings(lang, "texts")
    for kind in CONSENT_KINDS:
        assert str(versions.get(kind) or "").strip(), f"{lang}: consent_versions.{kind} missing"
        assert f"consent.{kind}.text" in texts, f"{lang}: own consent wording for {kind} missing"
        wording = catalog(lang).consent(kind)
        assert wording.language == lang, f"{lang}: consent {kind} fell back to {wording.language}"
        assert wording.version == str(versions[kind])
        assert len(wording.hash) == 64


@pytest.mark.parametrize("kind", CONSENT_KINDS)
def test_consent_hashes_and_wordings_distinct_per_language(kind: str) -> None:
    wordings = [catalog(lang).consent(kind) for lang in LANGUAGES]
    hashes = [w.hash for w in wordings]
    assert len(set(hashes)) == len(hashes)
    # A wording copied from another language would be a consent the resident could not read.
    texts = {w.language: w.text for w in wordings}
    assert len(set(texts.values())) == len(texts), "two languages share one consent text"


@pytest.mark.parametrize("lang", [lang for lang in TRANSLATED if lang != "en"])
def test_texts_are_translated(lang: str) -> None:
    # Longer texts identical to the English ones were left untranslated.
    english = _strings("en", "texts")
    same = [k for k, v in _strings(lang, "texts").items() if len(v) > 20 and v == english.get(k)]
    assert not same, f"{lang}: untranslated (same as English): {same}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_prompt_has_english_and_emergency_numbers_kept(lang: str) -> None:
    texts = _strings(lang, "texts")
    assert "Please choose your language" in texts["language.ask"], lang
    for number in ("110", "119"):
        assert number in texts["safety.emergency"], f"{lang}: emergency number {number} missing"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendering_fills_placeholders(lang: str) -> None:
    cat = catalog(lang)
    out = cat.text("handed.in_hours", case_number="R-2026-0042")
    assert "R-2026-0042" in out and "{" not in out
    out = cat.text("about.body", centre_name="CENTRE-X", operator="OPERATOR-Y")
    assert "CENTRE-X" in out and "OPERATOR-Y" in out


GLOSSARY_FILE = Path(__file__).parents[1] / "i18n" / "glossary.yaml"
# Where the catalogs name a welfare programme or agency, they use a rendering the glossary lists,
# so residents meet the same word in the prompts and in the counsellor's translated messages.
GLOSSARY_USES = {
    "public_assistance": "public_assistance.ask",
    "welfare_office": "consent.share_agencies.text",
    "hello_work": "consent.share_agencies.text",
    "social_welfare_council": "consent.share_agencies.text",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_uses_glossary_renderings(lang: str) -> None:
    assert GLOSSARY_FILE.exists(), "i18n/glossary.yaml is missing"
    with GLOSSARY_FILE.open(encoding="utf-8") as fh:
        terms = {t["term"]: t for t in (yaml.safe_load(fh) or {}).get("terms", [])}
    texts = _strings(lang, "texts")
    checked = 0
    for term, key in GLOSSARY_USES.items():
        forms = (terms.get(term) or {}).get(lang)
        if not forms:
            continue  # the glossary has no entry for this language (Easy Japanese uses ja's)
        heads = [re.split(r"\s*[（(]", str(f))[0].casefold() for f in forms]
        assert any(h in texts[key].casefold() for h in heads), (
            f"{lang}: {key} should say one of {heads}"
        )
        checked += 1
    if checked == 0 and lang != "ja-easy":
        pytest.fail(f"glossary has none of {sorted(GLOSSARY_USES)} for {lang}")


# ---- risk lexicons ----------------------------------------------------------------------------


def _risk_terms() -> dict[str, Any]:
    return lexicon.load_terms()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_risk_terms_for_every_kind(lang: str) -> None:
    spec = _risk_terms().get(lang)
    assert spec, f"no risk terms for catalog language {lang}"
    terms = spec.get("terms") or {}
    for kind in KINDS:
        listed = [str(t).strip() for t in terms.get(kind) or []]
        assert len(listed) >= 3, f"{lang}: fewer than three {kind} terms"
        assert all(listed), f"{lang}: empty {kind} term"
    assert set(terms) <= set(KINDS), f"{lang}: unknown kinds {set(terms) - set(KINDS)}"
    assert set(spec) <= {"terms", "actors", "look", "not_risk", "not_risk_exact"}, lang


# Realistic sentences per language: each must be flagged with its kind. Written the way people
# write in chat — plain words, not clinical ones.
RISK_SAMPLES: dict[str, dict[str, list[str]]] = {
    "ja": {
        "suicide": ["もう死にたいです", "生きているのがつらくて、消えたいと思ってしまう"],
        "violence": ["夫に毎日殴られています", "彼に殺すと脅されて、怖くて家に帰れない"],
        "abuse": ["子どもを叩いてしまうのが止められない", "父から虐待を受けていました"],
        "no_shelter": [
            "今夜泊まるところがありません",
            "アパートを追い出されてネットカフェにいます",
        ],
    },
    "en": {
        "suicide": [
            "I just want to die",
            "Sometimes I think about ending my life, I want to kill myself",
        ],
        "violence": [
            "My husband hits me when he drinks",
            "He threatened to kill me and I am afraid to go home",
        ],
        "abuse": ["My stepfather abused me for years", "I was sexually assaulted by my boss"],
        "no_shelter": [
            "I have nowhere to sleep tonight",
            "We were evicted last week and are sleeping in the car, homeless",
        ],
    },
    "ja-easy": {
        "suicide": ["もう しにたい です", "いきて いたくない。きえたい", "しにたいと おもう"],
        "violence": [
            "おっとに なぐられて います",
            "かれに ころすと いわれて、こわくて いえに かえれない",
            "かれに たたかれます",
        ],
        "abuse": [
            "おやに ぎゃくたい されて いました",
            "こどもを たたいて しまいます",
            "むりやり された",
        ],
        "no_shelter": [
            "きょう ねる ところが ない です",
            "アパートを おいだされました",
            "とまる ところが ありません",
        ],
    },
    "zh-Hans": {
        "suicide": [
            "我真的不想活了",
            "最近一直想死,觉得活着没意思",
            "我想自杀",
            "活着太累了,不想活了",
        ],
        "violence": [
            "老公喝了酒就打我",
            "他说要杀了我,我不敢回家",
            "他天天打我",
            "男朋友对我动手,还威胁我",
        ],
        "abuse": ["小时候一直被继父虐待", "我被上司性骚扰了", "我被性侵了", "继父对我性骚扰"],
        "no_shelter": [
            "今晚没地方睡",
            "被房东赶出来了,现在睡在街上",
            "我现在无家可归",
            "今晚只能睡在公园,没有地方住",
        ],
    },
    "zh-Hant": {
        "suicide": ["我真的不想活了", "最近一直想死,覺得活著沒意思", "我想自殺"],
        "violence": ["老公喝了酒就打我", "他說要殺了我,我不敢回家", "他天天打我"],
        "abuse": ["小時候一直被繼父虐待", "我被上司性騷擾了", "我被性侵了"],
        "no_shelter": ["今晚沒地方睡", "被房東趕出來了,現在睡在街上", "我現在無家可歸"],
    },
    "ko": {
        "suicide": [
            "요즘 너무 힘들어서 죽고 싶어요",
            "더 이상 살고 싶지 않아요",
            "죽고싶다",
            "자살하고 싶어요",
            "사라지고 싶어요",
        ],
        "violence": [
            "남편이 술만 마시면 때려요",
            "죽이겠다고 협박해서 무서워요",
            "남편이 저를 때려요",
            "남자친구한테 맞고 살아요",
            "가정폭력을 당하고 있어요",
        ],
        "abuse": [
            "어릴 때 아버지한테 학대를 당했어요",
            "직장 상사에게 성추행을 당했어요",
            "아이를 때리게 돼요",
            "성폭행을 당했어요",
        ],
        "no_shelter": [
            "오늘 밤 잘 곳이 없어요",
            "집에서 쫓겨나서 지금 노숙하고 있어요",
            "갈 곳이 없어요",
            "집이 없어서 찜질방에서 자요",
            "잘 데가 없어요",
        ],
    },
    "vi": {
        "suicide": [
            "Tôi mệt mỏi quá, chỉ muốn chết thôi",
            "Em không muốn sống nữa",
            "toi muon chet",
            "Tôi nghĩ đến chuyện tự tử",
        ],
        "violence": [
            "Chồng tôi uống rượu xong là đánh tôi",
            "Anh ta dọa giết tôi nên tôi sợ không dám về nhà",
            "Chồng em hay đánh em",
            "Tôi bị bạo hành gia đình",
        ],
        "abuse": [
            "Tôi bị chủ nhà xâm hại",
            "Con tôi bị ngược đãi ở nhà người quen",
            "Tôi bị quấy rối tình dục ở công ty",
            "Con tôi bị lạm dụng",
        ],
        "no_shelter": [
            "Tối nay tôi không có chỗ ngủ",
            "Tôi bị đuổi ra khỏi nhà, giờ phải ngủ ngoài đường",
            "Tôi không có chỗ ở",
            "Em không có nơi ở, phải ngủ ngoài công viên",
            "Tôi đang vô gia cư",
        ],
    },
    "tl": {
        "suicide": [
            "Pagod na pagod na ako, gusto ko nang mamatay",
            "Naisip kong magpakamatay kagabi",
            "Ayoko nang mabuhay",
            "Parang gusto ko na lang mamatay",
        ],
        "violence": [
            "Sinasaktan ako ng asawa ko kapag lasing siya",
            "Sabi niya papatayin niya ako",
            "Binubugbog ako ng asawa ko",
            "Sinuntok niya ako kagabi",
        ],
        "abuse": [
            "Inabuso ako ng tito ko noong bata ako",
            "Ginahasa ako ng dati kong amo",
            "Minolestiya ako ng amo ko",
        ],
        "no_shelter": [
            "Wala akong matutulugan ngayong gabi",
            "Pinalayas kami ng landlord namin",
            "Wala kaming matitirhan",
            "Natutulog ako sa kalye ngayon",
            "Walang tirahan ang pamilya ko",
        ],
    },
    "pt-BR": {
        "suicide": [
            "Não aguento mais, quero morrer",
            "Às vezes penso em me matar",
            "quero morrer",
            "Penso em suicídio todos os dias",
            "nao quero mais viver",
        ],
        "violence": [
            "Meu marido me bate quando bebe",
            "Ele disse que vai me matar e tenho medo de voltar pra casa",
            "Ele me espanca",
            "Sofro violência doméstica",
            "meu marido me bateu ontem",
        ],
        "abuse": [
            "Sofri abuso do meu padrasto quando era criança",
            "Fui vítima de assédio sexual no trabalho",
            "fui estuprada",
            "meu chefe abusou de mim",
        ],
        "no_shelter": [
            "Hoje não tenho onde dormir",
            "Fui despejado e estou dormindo na rua",
            "Estou morando na rua",
            "Não tenho onde ficar hoje",
            "fui expulsa de casa",
        ],
    },
    "ne": {
        "suicide": [
            "मलाई अब बाँच्न मन छैन",
            "कहिलेकाहीँ आत्महत्या गरूँ जस्तो लाग्छ",
            "मलाई मर्न मन लाग्छ",
            "म आत्महत्या गर्छु",
        ],
        "violence": [
            "मेरो श्रीमान्ले रक्सी खाएपछि मलाई कुट्छ",
            "उसले मलाई मारिदिन्छु भनेर धम्की दियो",
            "श्रीमान्ले दिनहुँ कुट्नुहुन्छ",
            "घरमा हिंसा भइरहेको छ",
        ],
        "abuse": [
            "साहुले मसँग यौन दुर्व्यवहार गर्‍यो",
            "सानोमा मलाई बलात्कार गरिएको थियो",
            "मलाई यौन शोषण भयो",
        ],
        "no_shelter": [
            "आज राति सुत्ने ठाउँ छैन",
            "घरबेटीले कोठाबाट निकालिदिए",
            "मेरो बस्ने ठाउँ छैन",
            "सडकमा सुत्नुपर्छ",
        ],
    },
    "id": {
        "suicide": [
            "Saya capek sekali, rasanya ingin mati",
            "Saya sempat berpikir untuk bunuh diri",
            "Saya pengen mati aja",
            "Saya tidak mau hidup lagi",
        ],
        "violence": [
            "Suami saya sering memukul saya kalau mabuk",
            "Saya diancam dibunuh oleh pacar saya",
            "Saya sering dipukuli suami",
            "Saya korban KDRT",
        ],
        "abuse": [
            "Saya dilecehkan oleh atasan di pabrik",
            "Waktu kecil saya disiksa oleh ayah tiri",
            "Saya diperkosa",
            "Anak saya disiksa",
        ],
        "no_shelter": [
            "Malam ini saya tidak ada tempat untuk tidur",
            "Saya diusir dari apartemen dan sekarang tidur di jalan",
            "Saya tidak punya tempat tinggal",
            "Saya tidur di jalan sekarang",
            "Saya gelandangan",
        ],
    },
    "es": {
        "suicide": [
            "Ya no puedo más, quiero morirme",
            "A veces pienso en quitarme la vida",
            "Quiero morir",
            "Pienso en el suicidio",
            "no quiero seguir viviendo",
        ],
        "violence": [
            "Mi pareja me pega cuando bebe",
            "Me amenazó con que me va a matar y tengo miedo de volver a casa",
            "Mi esposo me golpea",
            "Sufro violencia de género",
            "me pegan en casa",
        ],
        "abuse": [
            "Sufrí abuso de mi padrastro cuando era niña",
            "Mi jefe me hizo acoso sexual",
            "Me violó mi expareja",
            "Fui víctima de abuso",
        ],
        "no_shelter": [
            "Esta noche no tengo dónde dormir",
            "Me echaron de casa y duermo en la calle",
            "No tengo donde dormir",
            "Vivo en la calle",
            "Estoy sin hogar",
        ],
    },
    "th": {
        "suicide": ["เหนื่อยมาก อยากตาย", "เคยคิดจะฆ่าตัวตาย", "ไม่อยากมีชีวิตอยู่แล้ว", "อยากตายมาก"],
        "violence": ["สามีเมาแล้วทุบตีฉันทุกวัน", "แฟนขู่จะฆ่าฉัน กลัวกลับบ้าน", "แฟนทำร้ายร่างกายฉัน", "โดนสามีตบตี"],
        "abuse": ["ตอนเด็กถูกพ่อเลี้ยงล่วงละเมิด", "หัวหน้าคุกคามทางเพศฉันที่ที่ทำงาน", "ถูกข่มขืน", "ลูกถูกทารุณ"],
        "no_shelter": [
            "คืนนี้ไม่มีที่นอน",
            "ถูกเจ้าของห้องไล่ออกจากห้อง ตอนนี้นอนข้างถนน",
            "ไม่มีที่พักคืนนี้",
            "ตอนนี้เป็นคนไร้บ้าน",
            "ไม่มีที่อยู่อาศัย",
        ],
    },
    "my": {
        "suicide": ["အရမ်းပင်ပန်းလို့ သေချင်တယ်", "ကိုယ့်ကိုယ်ကို သတ်သေဖို့ စဉ်းစားမိတယ်", "သေချင်တယ်", "အသက်မရှင်ချင်တော့ဘူး"],
        "violence": [
            "ယောက်ျားက အရက်သောက်ပြီး ရိုက်နှက်တယ်",
            "သူက သတ်မယ်လို့ ခြိမ်းခြောက်တယ်",
            "ခင်ပွန်းက ထိုးကြိတ်တယ်",
            "အိမ်ထောင်ဖက်က အကြမ်းဖက်တယ်",
        ],
        "abuse": ["ငယ်ငယ်က ပထွေးက နှိပ်စက်ခဲ့တယ်", "အလုပ်ရှင်က လိင်ပိုင်းဆိုင်ရာ နှောင့်ယှက်တယ်", "မုဒိမ်းကျင့်ခံရတယ်"],
        "no_shelter": [
            "ဒီည အိပ်စရာနေရာ မရှိဘူး",
            "အိမ်ရှင်က နှင်ထုတ်လို့ လမ်းဘေးမှာ အိပ်နေရတယ်",
            "နေစရာမရှိဘူး",
            "အိပ်စရာမရှိဘူး",
            "အိမ်ခြေမဲ့ ဖြစ်နေတယ်",
        ],
    },
}

# Everyday welfare consultations: none of these may be flagged by any language's list.
ORDINARY: dict[str, list[str]] = {
    "ja": [
        "仕事をやめてから家賃が払えなくなりました",
        "借金の返済が苦しくて、生活費が足りません",
        "ひとり親で、子どもの学習支援について知りたいです",
        "生活保護を申請したいのですが、どうすればいいですか",
        "母の介護で仕事に行けず、お金が心配です",
    ],
    "en": [
        "I lost my job and cannot pay the rent this month",
        "I have credit card debt and I am behind on my bills",
        "I am a single mother and need help with my son's school costs",
        "How do I apply for public assistance?",
        "My father is ill and I had to stop working to look after him",
    ],
    # Near misses on purpose: words that share a stem or a spelling with a risk term.
    "ja-easy": [
        "しごとが なくて、やちんが はらえません",
        "こどもが がっこうに いきたくない と いって います",
        "しゃっきんが あって こまって います",
        "せいかつほごに ついて しりたい です",
        "びょうきで はたらけません",
    ],
    "zh-Hans": [
        "我失业了,这个月的房租交不起",
        "有事就打我电话,晚上比较方便",
        "请打我的手机,白天在打工",
        "钱不够,生活不下去了,想咨询生活保护",
        "我是单亲妈妈,孩子的学费很困难",
        "借了消费贷款,每个月还款很吃力",
    ],
    "zh-Hant": [
        "我失業了,這個月的房租繳不起",
        "請打我電話,晚上比較方便",
        "錢不夠,生活不下去了,想諮詢生活保護",
        "我是單親媽媽,孩子的學費很困難",
        "借了信用卡的錢,每個月還款很吃力",
    ],
    "ko": [
        "회사를 때려치웠더니 월세를 못 내고 있어요",
        "배고파 죽을 것 같아요, 식료품 지원이 있나요",
        "네 맞았어요, 저는 혼자 살아요",
        "빚이 있어서 매달 갚기가 힘들어요",
        "생활보호를 신청하고 싶어요",
    ],
    "vi": [
        "Tôi bị mất việc và không trả được tiền nhà tháng này",
        "Chồng tôi không có nhà vào ban ngày, xin gọi buổi tối",
        "Từ từ tôi sẽ kể, tôi đang nợ thẻ tín dụng",
        "Tôi là mẹ đơn thân, con tôi cần hỗ trợ học tập",
        "Tôi muốn hỏi về trợ cấp sinh hoạt",
    ],
    "tl": [
        "Nawalan ako ng trabaho at hindi ko na mabayaran ang upa",
        "May pananakit ng likod ang tatay ko kaya hindi siya makapagtrabaho",
        "Papatayin ko muna ang ilaw bago ako umalis",
        "Single mother ako at kulang ang pera para sa pag-aaral ng anak ko",
        "Paano mag-apply ng seikatsu hogo?",
    ],
    "pt-BR": [
        "Perdi o emprego e não consigo pagar o aluguel",
        "Meu marido me pega no trabalho às seis, pode ligar depois",
        "Moro de aluguel, sem casa própria, e as contas atrasaram",
        "Sou mãe solo e preciso de ajuda com a escola do meu filho",
        "Como faço para pedir a assistência pública?",
    ],
    "ne": [
        "मेरो काम छुट्यो र घरभाडा तिर्न सकिनँ",
        "मेरो आफ्नो घर छैन, भाडामा बस्छु",
        "ऋण धेरै भयो, के गर्ने थाहा छैन",
        "छोराको पढाइको खर्च पुगेन",
        "सेइकात्सु होगोबारे जान्न चाहन्छु",
    ],
    "id": [
        "Saya kehilangan pekerjaan dan tidak bisa bayar sewa",
        "Baterai HP saya mau mati, tolong hubungi lewat email",
        "Saya punya utang kartu kredit yang menunggak",
        "Saya orang tua tunggal dan butuh bantuan biaya sekolah anak",
        "Bagaimana cara mendaftar seikatsu hogo?",
    ],
    "es": [
        "Me quedé sin trabajo y no puedo pagar el alquiler",
        "Me pagan muy poco y no llego a fin de mes",
        "Tengo deudas con la tarjeta de crédito",
        "Soy madre soltera y necesito ayuda con los gastos escolares",
        "¿Cómo solicito la asistencia pública?",
    ],
    "th": [
        "ถูกไล่ออกจากงาน จ่ายค่าเช่าไม่ไหว",
        "ฉันไม่มีที่อยู่อีเมล ขอให้ติดต่อทางโทรศัพท์",
        "ต้องซ้อมดนตรีทุกเย็น ติดต่อช่วงเช้าได้ไหม",
        "ฝากลูกไว้กับยาย แล้วไปทำงานกะดึก",
        "มีหนี้บัตรเครดิต ผ่อนไม่ไหว",
    ],
    "my": [
        "အလုပ်ပြုတ်သွားလို့ အိမ်လခ မပေးနိုင်ဘူး",
        "ကလေးရဲ့ ဓာတ်ပုံကို ရိုက်ပြီး ပို့ပေးမယ်",
        "အကြွေးတွေ များနေလို့ စိတ်ပူတယ်",
        "သေချာ မသိလို့ မေးချင်ပါတယ်",
        "ဆေးခါ့ဆု ဟိုဂို အကြောင်း သိချင်ပါတယ်",
    ],
}


# The samples above were written for the first four kinds; each may be found as these kinds.
SAMPLE_KINDS = {
    "suicide": {"suicide", "self_harm"},
    "violence": {"violence", "domestic_violence"},
    "abuse": {"child_abuse", "violence"},
    "no_shelter": {"no_shelter"},
}
SAMPLE_CASES = [
    (lang, kind, s)
    for lang, kinds in RISK_SAMPLES.items()
    for kind, ss in kinds.items()
    for s in ss
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_risk_samples_exist_for_language(lang: str) -> None:
    assert lang in RISK_SAMPLES, f"write risk sample sentences for {lang} in this file"
    assert set(RISK_SAMPLES[lang]) == set(SAMPLE_KINDS), lang
    assert len(ORDINARY.get(lang, [])) >= 4, f"write ordinary welfare sentences for {lang}"


@pytest.mark.parametrize(("lang", "kind", "sentence"), SAMPLE_CASES)
def test_risk_sentence_detected(lang: str, kind: str, sentence: str) -> None:
    finding = screen(sentence, language=lang)
    assert SAMPLE_KINDS[kind] & set(finding.kinds), (
        f"{lang} {kind} not detected in {sentence!r} (found {finding.kinds})"
    )


@pytest.mark.parametrize(("lang", "kind", "sentence"), SAMPLE_CASES)
def test_risk_sentence_detected_by_own_language_list(lang: str, kind: str, sentence: str) -> None:
    # The sentence must be caught by its own language's list, not by luck from another one.
    hits = lexicon.find(sentence, lang)
    assert any(h.role == "term" and h.lang == lang and h.kind in SAMPLE_KINDS[kind]
               for h in hits), (lang, kind, sentence)


@pytest.mark.parametrize(
    ("lang", "sentence"), [(lang, s) for lang, ss in ORDINARY.items() for s in ss]
)
def test_ordinary_sentence_not_flagged(lang: str, sentence: str) -> None:
    finding = screen(sentence, language=lang)
    assert not finding, f"{lang}: ordinary sentence flagged as {finding.kinds}: {sentence!r}"


# Keys about the risks themselves (every text key starting with risk. or safety., and the
# safety question's choices); every other prompt and label is ordinary service language, and a
# screen that flags it is too broad (it would flag residents quoting a prompt).
ABOUT_RISK_PREFIXES = ("risk.", "safety.", "summary.safety")  # the summary line about the safety answers
ABOUT_RISK_CHOICES = {"danger", "no_shelter", "no_food", "homeless", "staying_here", "medical"}


def _ordinary_prompts(lang: str) -> dict[str, str]:
    texts = {f"texts.{k}": v for k, v in _strings(lang, "texts").items()
             if not k.startswith(ABOUT_RISK_PREFIXES)}
    choices = {f"choices.{k}": v for k, v in _strings(lang, "choices").items()
               if k not in ABOUT_RISK_CHOICES and not k.startswith(ABOUT_RISK_PREFIXES)}
    return {**texts, **choices}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_prompts_not_flagged(lang: str) -> None:
    prompts = _ordinary_prompts(lang)
    assert len(prompts) > 30, lang
    flagged = {key: screen(str(text), language=lang).kinds for key, text in prompts.items()
               if screen(str(text), language=lang)}
    assert not flagged, f"{lang}: ordinary prompts flagged as risk: {flagged}"


def test_risk_screen_on_translation_too() -> None:
    # The caller passes the original and its translation; either may carry the signal.
    assert "suicide" in screen("Tôi rất mệt mỏi", "I want to die").kinds
    assert not screen("", None)
