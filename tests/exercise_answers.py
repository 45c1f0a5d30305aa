"""Plausible wrong answers to the lecture exercises, one or more per code exercise, each named.

tests/test_exercises.py checks that every code exercise's check rejects each
of them. A wrong answer is the mistake a learner is likely to make, not
nonsense: dividing by K instead of |P_u|, leaving seen items in, ...
"""

from __future__ import annotations

import torch


def _mean_recall(top, test, users_all: bool = False):
    total, n = 0.0, 0
    for u in range(top.shape[0]):
        positives = set(test.item[test.user == u].tolist())
        if positives or users_all:
            total += len(positives & set(top[u].tolist())) / max(1, len(positives))
            n += 1
    return total / n


def _recall_no_exclusion(scores, train, test, k):
    return _mean_recall(torch.topk(scores, k, dim=1).indices, test)


def _recall_over_all_users(scores, train, test, k):
    s = scores.clone()
    s[train.user, train.item] = -float("inf")
    return _mean_recall(torch.topk(s, k, dim=1).indices, test, users_all=True)


def _recall_k_plus_one(scores, train, test, k):
    s = scores.clone()
    s[train.user, train.item] = -float("inf")
    return _mean_recall(torch.topk(s, k + 1, dim=1).indices, test)


def _top_k_with_seen(scores, seen, k):
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))[:k]


def _top_k_ties_to_higher_id(scores, seen, k):
    return [i for i in sorted(range(len(scores)), key=lambda i: (-float(scores[i]), -i)) if i not in seen][:k]


def _lately_counts_everything(train, days):
    return torch.bincount(train.item, minlength=train.num_items)


def _lately_from_the_first_stamp(train, days):
    t = train.timestamp
    keep = t < t.min() + days * 86_400
    return torch.bincount(train.item[keep], minlength=train.num_items)


WRONG: dict[str, list] = {
    "01-1": [("divides by K (Precision@K)", lambda top, pos: len(set(top) & pos) / len(top)),
             ("counts the -1 padding as an item", lambda top, pos: len(set(top) & (pos | {-1})) / len(pos))],
    "01-2": [("leaves seen items in", _top_k_with_seen),
             ("breaks ties towards the higher id", _top_k_ties_to_higher_id),
             ("returns K + 1 items", lambda s, seen, k: [i for i in sorted(range(len(s)), key=lambda i: (
                 -float(s[i]), i)) if i not in seen][:k + 1])],
    "01-3": [("training items left in the lists", _recall_no_exclusion),
             ("averages over users without test items", _recall_over_all_users),
             ("an off-by-one in K", _recall_k_plus_one)],
    "01-4": [("counts every interaction", _lately_counts_everything),
             ("counts from the first time stamp", _lately_from_the_first_stamp)],
}
