# VADER (Hutto & Gilbert 2014) on the fixed validation files: compound >= 0.05 positive,
# <= -0.05 negative, else neutral (the authors' thresholds). Macro-recall over 3 classes.
import sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
d = sys.argv[1]
a = SentimentIntensityAnalyzer()
def score(texts, labels):
    rec = {0: [0, 0], 1: [0, 0], 2: [0, 0]}
    for t, l in zip(texts, labels):
        c = a.polarity_scores(t)["compound"]
        p = 2 if c >= 0.05 else 0 if c <= -0.05 else 1
        rec[l][1] += 1
        rec[l][0] += p == l
    return sum(r[0] / r[1] for r in rec.values() if r[1]) / sum(1 for r in rec.values() if r[1])
def files(t, l):
    return open(t).read().splitlines(), [int(x) for x in open(l).read().split()]
print("tweeteval-sentiment val", round(100 * score(*files(f"{d}/tweeteval-sentiment/val_text.txt", f"{d}/tweeteval-sentiment/val_labels.txt")), 1))
print("xlmt-sentiment english val", round(100 * score(*files(f"{d}/xlmt-sentiment/english/val_text.txt", f"{d}/xlmt-sentiment/english/val_labels.txt")), 1))
