# Draws the safety sample: real customer posts from /work/shared/data, a random "stream"
# part and an "enriched" part caught by a deliberately broad net of harm-related stems.
import csv, json, hashlib, random, re, sys, unicodedata
D = '/work/shared/data/'
csv.field_size_limit(10**8)
posts = []  # (source, lang, text, care)
def add(src, lang, text, care):
    text = (text or '').replace('\r', ' ').replace('\n', ' ').replace('\t', ' ').strip()
    if len(text) >= 8: posts.append((src, lang, text, care))
for f in ['twcs-sample-head/dev.csv', 'twcs-sample-random/dev.csv', 'twcs-sample/sample_train.csv']:
    for r in csv.DictReader(open(D + f)):
        if r['inbound'] == 'True': add(f.split('/')[0], '', r['text'], True)
for f in ['AmazonHelp', 'AppleSupport', 'SpotifyCares']:
    for r in csv.DictReader(open(D + f'twcs-labeled-topics/twcs-{f}-200-inbound.train.csv')):
        add('twcs-labeled-topics', '', r['text'], True)
for c in json.load(open(D + 'ibm-care-conversations/dev.json')):
    comp = c['dialogHeader']['company']
    for t in c['dialogContent']:
        if t.get('client') and t['client'] != comp: add('ibm-care-conversations', '', t['message'], True)
for r in csv.DictReader(open(D + 'airline-tweets/dev.csv')): add('airline-tweets', 'en', r['text'], True)
for r in csv.reader(open(D + 'complaints-twitter/dev.csv')): add('complaints-twitter', 'en', r[1], True)
for r in csv.DictReader(open(D + 'clap-app-reviews/dev.csv')): add('clap-app-reviews', 'en', r['review'], True)
for lang, code in [('english','en'),('french','fr'),('german','de'),('italian','it'),('spanish','es'),('portuguese','pt'),('arabic','ar')]:
    for line in open(D + f'xlmt-sentiment/{lang}/val_text.txt'): add('xlmt-sentiment', code, line, False)
for lang, code in [('german','de'),('swedish','sv'),('spanish','es'),('portuguese','pt')]:
    for r in csv.DictReader(open(D + f'mozetic-twitter-sentiment/{lang}_train.csv')): add('mozetic-twitter-sentiment', code, r['text'], False)
for r in csv.DictReader(open(D + 'norec-sentence/val.csv')): add('norec-sentence', 'no', r['text'], False)
for r in csv.DictReader(open(D + 'lcc-danish-sentiment/train.csv')): add('lcc-danish-sentiment', 'da', r['text'], False)
for r in csv.DictReader(open(D + 'swe-sentiment-emoji/train.csv')): add('swe-sentiment-emoji', 'sv', r['text'], False)
for r in csv.DictReader(open(D + 'astd-arabic/val.csv')): add('astd-arabic', 'ar', r['text'], False)
def norm(t):
    t = unicodedata.normalize('NFKC', t).lower()
    t = re.sub(r'https?://\S+|@\w+', ' ', t)
    return ' '.join(re.findall(r'\w+', t))
seen = set(); uniq = []
for p in posts:
    n = norm(p[2])
    if n and n not in seen: seen.add(n); uniq.append(p + (n,))
# The broad net: stems of harm words in the served languages, far wider than any detector.
NET = re.compile(r'''(accident|injur|hurt|bleed|blood|hospital|ambulan|emergenc|fire|flame|burn|smok|spark|explo|melt|overheat|
 crash|collid|collision|brake|braking|steering|airbag|danger|unsafe|safe|hazard|risk|kill|dead|die|death|
 child|kid|baby|infant|toddler|hack|breach|leak|phish|fraud|scam|stole|stolen|theft|unauthori|identity|police|
 ulykke|skade|brand|brænd|røg|farlig|svindel|olycka|skad|rök|bedräg|ongeluk|gewond|gevaar|oplicht|
 unfall|verletz|feuer|rauch|gefähr|betrug|gehackt|bremse|accidente|herid|incendi|fuego|humo|peligr|estafa|robad|
 blessé|incendie|feu|fumée|dangereu|escroqu|piraté|vol[ée]|incidente|ferit|fuoco|fumo|pericol|truffa|frode|
 acidente|ferid|fogo|fumaça|perig|golpe|roubad|hacke|حادث|حريق|خطر|إصاب|اصاب|احتيال|نصب|سرق|اختراق|دخان)''', re.X)
enriched = [p for p in uniq if NET.search(p[4])]
care = [p for p in uniq if p[3]]
def half(p): return 'tune' if int(hashlib.md5(p[4].encode()).hexdigest(), 16) % 2 == 0 else 'eval'
rng = random.Random(20250611)
def bucket(p): return 'care' if p[3] else p[1]
QUOTA = {'tune': (200, 90, 12), 'eval': (300, 120, 18)}
out = []
for split in ['tune', 'eval']:
    n_stream, n_care, n_lang = QUOTA[split]
    s = [p for p in care if half(p) == split]
    picked = rng.sample(s, n_stream)
    keys = {p[4] for p in picked}
    e = [p for p in enriched if half(p) == split and p[4] not in keys]
    picked_e = []
    for b in ['care', 'en', 'da', 'sv', 'no', 'de', 'fr', 'it', 'es', 'pt', 'ar']:
        eb = [p for p in e if bucket(p) == b]
        k = n_care if b == 'care' else n_lang
        picked_e += rng.sample(eb, min(k, len(eb)))
    for part, ps in [('stream', picked), ('enriched', picked_e)]:
        for p in ps: out.append((split, part, p[0], p[1], p[2]))
# A second evaluation half, drawn after the first was measured and folded into tuning
# (README: "honest history"): eval-side posts never drawn before, with its own seed.
drawn = {norm(r[4]) for r in out}
rng2 = random.Random(20250612)
s = [p for p in care if half(p) == 'eval' and p[4] not in drawn]
picked = rng2.sample(s, 300)
keys = drawn | {p[4] for p in picked}
e = [p for p in enriched if half(p) == 'eval' and p[4] not in keys]
picked_e = []
for b in ['care', 'en', 'da', 'sv', 'no', 'de', 'fr', 'it', 'es', 'pt', 'ar']:
    eb = [p for p in e if bucket(p) == b]
    picked_e += rng2.sample(eb, min(120 if b == 'care' else 18, len(eb)))
for part, ps in [('stream', picked), ('enriched', picked_e)]:
    for p in ps: out.append(('eval2', part, p[0], p[1], p[2]))
print(len(uniq), 'unique posts,', len(enriched), 'caught by the net,', len(care), 'care posts', file=sys.stderr)
w = csv.writer(sys.stdout, delimiter='\t', lineterminator='\n', quoting=csv.QUOTE_NONE, escapechar='\\')
for r in out: print('\t'.join(r))
