"""Tune: placeholder until its issue lands."""
import streamlit as st

st.title("Tune")
st.caption("Search for the best settings.")
st.info("This page is being built.")
