"""Recommend: placeholder until its issue lands."""
import streamlit as st

st.title("Recommend")
st.caption("Recommend items to users.")
st.info("This page is being built.")
