"""The Bayesian ranking, as pure functions (no database)."""

from recognition.ranking import Entry, rank


def board(entries, prior=20, min_n=5):
    return rank(entries, prior_weight=prior, min_n=min_n)


def test_five_lucky_ratings_never_outrank_five_hundred_good_ones():
    lucky = Entry(agent_id=1, team_id=1, n=5, total=25, name="Lucky")  # 5 × 5 stars
    steady = Entry(agent_id=2, team_id=1, n=500, total=2300, name="Steady")  # 4.6 average
    others = Entry(agent_id=3, team_id=1, n=300, total=1140, name="Others")  # 3.8 average
    b = board([lucky, steady, others])
    assert [e.name for e in b.ranked] == ["Steady", "Lucky", "Others"]
    assert lucky.raw == 5.0 and lucky.smoothed < steady.smoothed
    # the prior is the team mean, shown beside the smoothed value
    assert round(lucky.prior_mean, 4) == round((25 + 2300 + 1140) / 805, 4)
    assert 4.2 < lucky.smoothed < 4.5


def test_without_smoothing_the_lucky_five_would_win():
    lucky = Entry(agent_id=1, team_id=1, n=5, total=25, name="Lucky")
    steady = Entry(agent_id=2, team_id=1, n=500, total=2300, name="Steady")
    b = board([lucky, steady], prior=0)
    assert b.ranked[0].name == "Lucky"


def test_below_the_minimum_is_listed_apart_not_ranked():
    few = Entry(agent_id=1, team_id=1, n=4, total=20, name="Few")
    enough = Entry(agent_id=2, team_id=1, n=30, total=120, name="Enough")
    b = board([few, enough], min_n=20)
    assert [e.name for e in b.ranked] == ["Enough"]
    assert [e.name for e in b.not_enough] == ["Few"] and few.rank is None and few.smoothed is None
    assert few.raw == 5.0  # raw still shown


def test_ties_share_a_rank_and_the_next_rank_is_skipped():
    a = Entry(agent_id=1, team_id=1, n=50, total=200, name="Ann")
    b_ = Entry(agent_id=2, team_id=1, n=50, total=200, name="Bob")
    c = Entry(agent_id=3, team_id=1, n=50, total=150, name="Cid")
    b = board([c, b_, a])
    assert [(e.name, e.rank) for e in b.ranked] == [("Ann", 1), ("Bob", 1), ("Cid", 3)]


def test_each_agent_shrinks_toward_their_own_team():
    strong_team = [Entry(agent_id=i, team_id=1, n=100, total=480, name=f"S{i}") for i in range(3)]
    weak_team = [
        Entry(agent_id=10 + i, team_id=2, n=100, total=300, name=f"W{i}") for i in range(3)
    ]
    new_s = Entry(agent_id=20, team_id=1, n=5, total=20, name="NewS")
    new_w = Entry(agent_id=21, team_id=2, n=5, total=20, name="NewW")
    board(strong_team + weak_team + [new_s, new_w])
    assert new_s.prior_mean > new_w.prior_mean
    assert new_s.smoothed > new_w.smoothed


def test_empty_teams_and_no_data():
    assert board([]).ranked == [] and board([]).org_mean is None
    nobody = [Entry(agent_id=1, team_id=1, n=0, total=0, name="Idle")]
    b = board(nobody)
    assert b.ranked == [] and [e.name for e in b.not_enough] == ["Idle"]


def test_agent_without_a_team_shrinks_toward_the_organization():
    a = Entry(agent_id=1, team_id=None, n=10, total=50, name="Floater")
    b_ = Entry(agent_id=2, team_id=1, n=90, total=270, name="Teamed")
    b = board([a, b_])
    assert a.prior_mean == b.org_mean == 320 / 100


def test_percentages_scale():
    a = Entry(agent_id=1, team_id=1, n=40, total=30, name="Ann")  # 75 %
    rank([a], prior_weight=20, min_n=10, scale=100)
    assert a.raw == 75.0 and a.smoothed == 75.0
