{#- Runs with a finite accuracy outside [0, 1] in any per-epoch accuracy array
    (test_accuracy, train_accuracy: every run metric named *accuracy*). Keras
    accuracy is a fraction, so a value outside [0, 1] is a damaged array.
    NaN and +/-inf are left out (diverged runs; finite-only rule); an empty or
    NULL array passes. Regression runs are checked too: their accuracy is
    meaningless but still a fraction. One row per failing run, with the
    smallest and largest finite value of each accuracy array. -#}
{%- set accuracies = [] -%}
{%- for metric in butter_run_metrics() if 'accuracy' in metric -%}
    {%- do accuracies.append(metric) -%}
{%- endfor -%}

with

runs as (
    select * from {{ ref('int_runs_deduplicated') }}
),

finite_ranges as (
    select
        run_id,
        experiment_id,
        {%- for metric in accuracies %}
            {{ butter_list_min(butter_list_finite(metric)) }} as min_finite_{{ metric }},
            {{ butter_list_max(butter_list_finite(metric)) }} as max_finite_{{ metric }},
        {%- endfor %}
        dataset
    from runs
),

out_of_range as (
    select *
    from finite_ranges
    where
        false
        {%- for metric in accuracies %}
            or min_finite_{{ metric }} < 0
            or max_finite_{{ metric }} > 1
        {%- endfor %}
)

select * from out_of_range
