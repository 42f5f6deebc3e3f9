"""Recommend: build recommenders from interaction data, measure them on held-out interactions, explain each pick."""
import json

import numpy as np
import streamlit as st

from core.recsys import charts as charts
from core.recsys import (K_MAX, SplitSpec, headline, model_keys, new_item_sentence, plural, ranking_vs_rating,
                         rating_sentence, tuning_sentence, user_history)
from ui.common import caption, chart, current_run, user_errors
from ui.recommend import (built_system, choose_data, data_summary, list_tabs, metric_table, recsys_data, recsys_user,
                          save_recommendations_run, show_saved, start_build)

st.title("Recommend")
caption("Build a recommender from who-liked-what data, measure it on interactions it never saw, and see why each "
           "user gets each item. Pick the data and the split, then build.")

run = current_run()
if run is not None and run.kind == "recommender" and run.status == "done":
    show_saved(run)

# ---------------------------------------------------------------- data
key = choose_data()
if key is None:
    st.stop()
with user_errors():
    data = recsys_data(key)
data_summary(data)
summary = data.summary()
chart(charts.long_tail_figure(data), key="rec_tail")
caption(f"The 10% most popular {data.item_noun}s get {summary['top10_share']:.0%} of all interactions; half of the "
           f"users have {summary['median_per_user']:.0f} or fewer. "
           + (f"{summary['items_without_interactions']:,} {data.item_noun}s have no interaction at all: only their "
              "features can place them (cold start)." if summary["items_without_interactions"] else ""))

# ---------------------------------------------------------------- split and build
st.subheader("Split and build")
c1, c2, c3, c4 = st.columns(4)
methods = {"random": "Random per user", "time": "Latest per user (time)"}
if not data.has_time:
    methods.pop("time")
method = c1.selectbox("Hold out", list(methods), format_func=methods.get, key="rec_split", persist_state="session")
if method == "time":
    last_n = c2.number_input("Interactions held out per user", 1, 50, 5, key="rec_last_n", persist_state="session")
    spec = SplitSpec("time", last_n=int(last_n))
else:
    share = c2.slider("Share held out per user", 0.1, 0.5, 0.2, 0.05, key="rec_share", persist_state="session")
    seed = c3.number_input("Seed", 0, 10_000, 42, key="rec_seed", persist_state="session")
    spec = SplitSpec("random", test_share=float(share), seed=int(seed))
k = c4.select_slider("List length k", [5, 10, 20], value=10, key="rec_k", persist_state="session")
split_json = json.dumps(spec.to_dict(), sort_keys=True)
caption(f"Split: {spec.describe()}. Every user keeps at least 2 interactions for training. ALS's regularization "
           "and the hybrid's weight are tuned on a validation split cut from the training part only.")

system, job = built_system(key, split_json)
if system is None:
    if job is None or job.finished:          # nothing built yet, or the last build failed or was cancelled
        if st.button("Build and compare the recommenders", type="primary", key="rec_build",
                     icon=":material/play_arrow:"):
            with user_errors():
                start_build(key, split_json)
            st.rerun()
        caption(f"Fits {len(model_keys(data))} models and ranks for every user, in the background (you can leave "
                "the page): about 10 s on the built-in data on 2 cores (most of it tuning BPR), longer with more "
                "interactions.")
    st.stop()

# ---------------------------------------------------------------- results
evaluation = system.evaluation
table = system.table(k)
st.subheader(f"Which model recommends best? (top {k})")
st.markdown(f"**{headline(table, k, len(evaluation.users), data.item_noun)}**")
metric_table(table, k, data.explicit)
caption(f"Measured on {len(evaluation.users):,} users with at least one held-out {data.item_noun} they liked "
           f"({len(system.test):,} held-out interactions). {data.item_noun.capitalize()}s a user already had in "
           "training are never recommended or counted.")
if system.new_item_place:
    caption(new_item_sentence(system.new_item_place, data.item_noun))
chart(charts.metrics_figure(table, k), key="rec_metrics_chart")
caption(ranking_vs_rating(table, k))

tab_k, tab_variety, tab_ratings, tab_tuning = st.tabs(["Quality vs list length", "Variety", "Star ratings", "Tuning"])
with tab_k:
    chart(charts.at_k_figure(evaluation, "ndcg"), key="rec_at_k")
    caption(f"NDCG rewards hits near the top of the list. Lists up to {K_MAX} were computed once; k only cuts them.")
with tab_variety:
    chart(charts.variety_figure(table, k), key="rec_variety")
    wide = table.sort_values("coverage", ascending=False).iloc[0]
    popular_coverage = table.set_index("model").loc["popular", "coverage"]
    caption(f"{wide['title']} shows {wide['coverage']:.0%} of the catalogue across all users' top {k}; the "
               f"popularity baseline shows {popular_coverage:.1%}. Novelty is the average "
               "surprise of a recommended item: 1 bit more means items half as many people know.")
with tab_ratings:
    if data.explicit:
        chart(charts.rating_figure(table), key="rec_ratings")
        caption(rating_sentence(table) + " Only models that predict a star rating have RMSE and MAE.")
    else:
        st.info("These data are implicit feedback (no star ratings), so RMSE and MAE do not apply.")
with tab_tuning:
    chart(charts.tuning_figure(system.tuning), key="rec_tuning")
    caption(tuning_sentence(system.tuning))

# ---------------------------------------------------------------- one user
st.subheader("One user: history, lists and reasons")
counts = np.bincount(data.events["user"], minlength=data.n_users)
users = [int(u) for u in evaluation.users] or list(range(data.n_users))
user = st.selectbox("User", users, key="rec_user",
                    format_func=lambda u: f"user {data.user_ids[u]} · {counts[u]:,} {data.item_noun}s")
history = user_history(system, user)
liked_train = history[(history["part"] == "training") & history["liked"]]
caption(f"{len(history):,} {data.item_noun}s: {len(liked_train):,} liked in training, "
           f"{int((history['part'] == 'held out').sum()):,} held out (hidden from the models).")
st.dataframe(history.drop(columns="code"), hide_index=True, height=240, key="rec_history",
             column_config={data.item_noun: data.item_noun.capitalize(),
                            plural(data.category_noun): plural(data.category_noun).capitalize(),
                            "rating": "Rating" if data.explicit else "Weight", "part": "Part",
                            "liked": st.column_config.CheckboxColumn("Liked"),
                            "when": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD")})
lists = recsys_user(job.id, user, k)
if lists:
    list_tabs(lists, data.item_noun, data.category_noun)
    if st.button("Save these recommendations as a run", key="rec_save", icon=":material/save:"):
        with user_errors():
            saved = save_recommendations_run(system, user, k)
        st.success(f"Saved as run '{saved.name}' ({saved.id}). Reopen it any time: Runs page, or "
                   f"?run={saved.id} on this page.", icon=":material/check_circle:")

# ---------------------------------------------------------------- cold start
if data.has_features:
    st.subheader("A new visitor (cold start)")
    caption(f"Someone with no history: pick {plural(data.category_noun)} they like and, if you want, a few "
               f"{data.item_noun}s. ALS scores them without retraining (recalculate_user); with nothing picked they "
               f"get the most popular {data.item_noun}s, picked {plural(data.category_noun)} first.")
    popular = np.argsort(-system.train.popularity, kind="stable")[:300]
    left, right = st.columns(2)
    picked_categories = left.multiselect(plural(data.category_noun).capitalize(), data.categories, key="rec_new_cats")
    picked_items = right.multiselect(f"{data.item_noun.capitalize()}s they liked", [int(i) for i in popular],
                                     format_func=lambda i: data.items["title"].iat[i], key="rec_new_items")
    visitor = recsys_user(job.id, None, k, tuple(picked_items), tuple(picked_categories))
    if visitor:
        list_tabs(visitor, data.item_noun, data.category_noun)
