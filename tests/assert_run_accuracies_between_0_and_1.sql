{#- Runs with a finite accuracy outside [0, 1] in any per-epoch accuracy array
    (butter_accuracy_metrics: test_accuracy, train_accuracy). Keras accuracy is
    a fraction, so a value outside [0, 1] is a damaged array. NaN and +/-inf
    are left out (diverged runs; finite-only rule); an empty or NULL array
    passes. Regression runs are checked too: their accuracy is meaningless but
    still a fraction. One row per failing run (the copy that is read), with the
    smallest and largest finite value of each accuracy array, which the copies
    pass (int_run_copies_unioned) computed while it read the arrays: this test
    does not decode them again. -#}
{%- set accuracies = butter_accuracy_metrics() -%}

with

copies as (
    select
        run_id,
        experiment_id,
        source_folder,
        source_file,
        {%- for metric in accuracies %}
            min_finite_{{ metric }},
            max_finite_{{ metric }},
        {%- endfor %}
        dataset
    from {{ ref('int_run_copies_unioned') }}
),

located as (
    select
        run_id,
        read_from_folder,
        read_from_file
    from {{ ref('int_runs_located') }}
),

read_copies as (
    select
        copies.run_id,
        copies.experiment_id,
        {%- for metric in accuracies %}
            copies.min_finite_{{ metric }},
            copies.max_finite_{{ metric }},
        {%- endfor %}
        copies.dataset
    from copies
    inner join located
        on
            copies.run_id = located.run_id
            and copies.source_folder = located.read_from_folder
            and copies.source_file = located.read_from_file
),

out_of_range as (
    select *
    from read_copies
    where
        false
        {%- for metric in accuracies %}
            or min_finite_{{ metric }} < 0
            or max_finite_{{ metric }} > 1
        {%- endfor %}
)

select * from out_of_range
